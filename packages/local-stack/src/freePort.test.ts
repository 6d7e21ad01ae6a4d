import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralPortRange, freePort } from './freePort.js';

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
    }
  });

  it('falls back to a port the OS picks where the range is unknown or too low to leave room', async () => {
    const p = await freePort([1024, 65535]);
    expect(p).toBeGreaterThan(0);
    expect(await bindable(p)).toBe(true);
  });
});
