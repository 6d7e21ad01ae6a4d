import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ServiceFailed } from './errors.js';
import { tailFile } from './ServiceProcess.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What `up` records beside a service's pid file. */
const ServiceRecord = z.object({ port: z.number().int(), settings: z.string(), startedAt: z.string() });
export type ServiceRecord = z.infer<typeof ServiceRecord>;

/** Health of one service as `status` reports it. */
export type ServiceHealth = 'ready' | 'not ready' | 'down';

/**
 * One service run as a detached process (its own session, so it outlives the shell that started
 * it), known only by `<stateDir>/<name>.pid` and `<name>.json`. Every signal goes to the process
 * group after checking that the pid still runs our entry file (pid files go stale; pids get reused).
 */
export class DetachedService {
  constructor(
    readonly name: string,
    private readonly o: { entry: string; cwd: string; stateDir: string; logPath: string },
  ) {}

  get pidFile(): string {
    return join(this.o.stateDir, `${this.name}.pid`);
  }

  private get recordFile(): string {
    return join(this.o.stateDir, `${this.name}.json`);
  }

  get logPath(): string {
    return this.o.logPath;
  }

  /** The recorded pid when that process is alive and runs our entry file. */
  pid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmdline.includes(this.o.entry) ? pid : undefined;
    } catch {
      return undefined; // no such process
    }
  }

  /** Port and settings the running process was started with (undefined when never recorded). */
  record(): ServiceRecord | undefined {
    try {
      const r = ServiceRecord.safeParse(JSON.parse(readFileSync(this.recordFile, 'utf8')));
      return r.success ? r.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** GET /readyz answers 200 on `port`. */
  async ready(port: number): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
      return false;
    }
  }

  async health(): Promise<{ pid: number | undefined; port: number | undefined; health: ServiceHealth }> {
    const pid = this.pid();
    const port = this.record()?.port;
    if (pid === undefined || port === undefined) return { pid, port, health: 'down' };
    return { pid, port, health: (await this.ready(port)) ? 'ready' : 'not ready' };
  }

  /** Spawns the entry detached, with stdout/stderr appended to the log, and records pid, port and settings. */
  spawn(env: Readonly<Record<string, string>>, port: number, settings: string): number {
    mkdirSync(dirname(this.o.logPath), { recursive: true });
    mkdirSync(this.o.stateDir, { recursive: true });
    const fd = openSync(this.o.logPath, 'a');
    writeSync(fd, `\n==== ${new Date().toISOString()} starting ${this.name} (port ${port})\n`);
    const child = spawn(process.execPath, [this.o.entry], { cwd: this.o.cwd, env: { ...env }, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd); // the child holds its own copy
    if (child.pid === undefined) throw new ServiceFailed(this.name, `could not start ${this.name} (${process.execPath} ${this.o.entry})`);
    child.unref();
    writeFileSync(this.pidFile, `${child.pid}\n`);
    writeFileSync(this.recordFile, `${JSON.stringify({ port, settings, startedAt: new Date().toISOString() } satisfies ServiceRecord)}\n`);
    return child.pid;
  }

  /** Polls GET /readyz until 200; throws ServiceFailed with the log tail when the process exits or time runs out. */
  async waitReady(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.pid() === undefined) {
        throw new ServiceFailed(this.name, `${this.name} exited before it was ready; last lines of ${this.o.logPath}:\n${tailFile(this.o.logPath)}`);
      }
      if (await this.ready(port)) return;
      await sleep(250);
    }
    throw new ServiceFailed(this.name, `${this.name} did not answer GET /readyz with 200 on port ${port} within ${Math.round(timeoutMs / 1000)} s; last lines of ${this.o.logPath}:\n${tailFile(this.o.logPath)}`);
  }

  /** SIGTERM to the process group, SIGKILL after `timeoutMs`; removes the pid and record files. Returns the pid it stopped. */
  async stop(timeoutMs: number): Promise<number | undefined> {
    const pid = this.pid();
    if (pid !== undefined) {
      signalGroup(pid, 'SIGTERM');
      const deadline = Date.now() + timeoutMs;
      while (this.pid() !== undefined && Date.now() < deadline) await sleep(100);
      if (this.pid() !== undefined) {
        signalGroup(pid, 'SIGKILL');
        while (this.pid() !== undefined) await sleep(50);
      }
    }
    rmSync(this.pidFile, { force: true });
    rmSync(this.recordFile, { force: true });
    return pid;
  }
}

/** The group id is the pid (spawned detached = its own session); falls back to the pid alone. */
const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
};

/** True when nothing listens on `port` (any address), probed by binding it. */
export const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
