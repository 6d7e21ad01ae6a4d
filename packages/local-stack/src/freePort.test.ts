import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ephemeralPortRange, freePort, releasePort, reservePort, sweepReservations } from './freePort.js';

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

describe('freePort', () => {
  it('reads the kernel range, and nothing from a file it cannot parse', () => {
    expect(ephemeralPortRange(() => '32768\t60999\n')).toEqual([32768, 60999]);
    expect(ephemeralPortRange(() => 'junk')).toBeUndefined();
    expect(ephemeralPortRange(() => { throw new Error('ENOENT'); })).toBeUndefined();
  });

  it('hands out bindable ports below the ephemeral range, where outbound sockets never land', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort([32768, 60999])));
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(20_000);
      expect(p).toBeLessThan(32768);
      expect(await bindable(p)).toBe(true);
      releasePort(p);
    }
  });

  it('falls back to a port the OS picks where the range is unknown or too low to leave room', async () => {
    const p = await freePort([1024, 65535]);
    expect(p).toBeGreaterThan(0);
    expect(await bindable(p)).toBe(true);
  });

  it('never hands one port to two processes at once: a live holder keeps it, a dead one gives it up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-ports-test-'));
    try {
      expect(reservePort(24_001, dir)).toBe(true);
      expect(reservePort(24_001, dir)).toBe(false); // this process holds it already
      writeFileSync(join(dir, '24002'), String(process.ppid)); // held by a live process (the test runner)
      expect(reservePort(24_002, dir)).toBe(false);
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      writeFileSync(join(dir, '24003'), gone); // held by a process that has exited
      expect(reservePort(24_003, dir)).toBe(true);
      releasePort(24_001);
      releasePort(24_003);
      expect(readdirSync(dir)).toEqual(['24002']);
      rmSync(join(dir, '24002'));
      expect(reservePort(24_002, dir)).toBe(true);
      releasePort(24_002);
      expect(existsSync(dir)).toBe(false); // the folder goes with its last reservation
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reserves what it hands out until released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-ports-test-'));
    try {
      const ports = await Promise.all(Array.from({ length: 10 }, () => freePort([32768, 60999], dir)));
      expect(new Set(ports).size).toBe(10);
      expect(readdirSync(dir).map(Number).sort()).toEqual([...ports].sort());
      for (const p of ports) expect(reservePort(p, dir)).toBe(false);
      for (const p of ports) releasePort(p);
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sweeps the reservations of processes that ended without releasing them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-ports-test-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      writeFileSync(join(dir, '24010'), gone);
      writeFileSync(join(dir, '24011'), String(process.ppid));
      sweepReservations(dir);
      expect(readdirSync(dir)).toEqual(['24011']);
      rmSync(join(dir, '24011'));
      sweepReservations(dir);
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
