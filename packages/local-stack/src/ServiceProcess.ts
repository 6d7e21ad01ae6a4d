import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ServiceFailed } from './errors.js';
import { readPeakRss } from './readPeakRss.js';

/** Last `lines` lines of a log file ('' when it does not exist). */
export const tailFile = (path: string, lines = 30): string => {
  try {
    const text = readFileSync(path, 'utf8');
    return text.split('\n').filter((l) => l !== '').slice(-lines).join('\n');
  } catch {
    return '';
  }
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One service as a child process: spawn with a fixed env and log file (appended, never the
 * terminal), readiness by polling GET /readyz, graceful stop with a SIGKILL fallback, and peak
 * resident memory sampled across restarts.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null; expected: boolean } | undefined;
  private exited: Promise<void> = Promise.resolve();
  private peak = 0;
  /** stop()/kill() asked for the exit, so it is not a crash. */
  private expectingExit = false;

  constructor(
    readonly name: string,
    private readonly o: { entry: string; cwd: string; env: Readonly<Record<string, string>>; port: number; logPath: string },
  ) {}

  get pid(): number | undefined {
    return this.child && !this.exitInfo ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** Set when the process exited without stop()/kill() asking it to. */
  get unexpectedExit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo && !this.exitInfo.expected ? this.exitInfo : undefined;
  }

  /** Exactly the environment the process gets. */
  get env(): Readonly<Record<string, string>> {
    return this.o.env;
  }

  get url(): string {
    return `http://127.0.0.1:${this.o.port}`;
  }

  tail(lines = 30): string {
    return tailFile(this.o.logPath, lines);
  }

  /** Spawns the process (if not running) and waits until /readyz answers 200. */
  async start(readyTimeoutMs: number): Promise<void> {
    if (!this.running) this.spawn();
    await this.waitReady(readyTimeoutMs);
  }

  /**
   * Starts the process with FLYWHEEL_FAILPOINTS armed for this run only; its exit is expected (it is
   * meant to crash at the failpoint). Resolves when it is ready, or when the failpoint fired first.
   */
  async startWithFailpoints(spec: string, readyTimeoutMs: number): Promise<void> {
    if (this.running) throw new Error(`${this.name} is running: stop it before arming failpoints`);
    this.spawn({ FLYWHEEL_FAILPOINTS: spec });
    this.expectingExit = true;
    try {
      await this.waitReady(readyTimeoutMs);
    } catch (err) {
      if (!this.exitInfo || !/failpoint \S+ fired/.test(this.tail(50))) throw err;
    }
  }

  /**
   * Waits until the process has crashed at failpoint `name` (it logs `failpoint <name> fired`
   * synchronously before it kills itself). The error says what was seen instead.
   */
  async waitFailpoint(name: string, timeoutMs: number): Promise<void> {
    const exited = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    const fired = this.tail(200).includes(`failpoint ${name} fired`);
    if (exited && fired) return;
    throw new Error(exited
      ? `${this.name} exited (code ${this.exitInfo?.code}, signal ${this.exitInfo?.signal}) without failpoint ${name} firing; last lines:\n${this.tail(15)}`
      : `${this.name} did not reach failpoint ${name} within ${Math.round(timeoutMs / 1000)} s (still running); last lines:\n${this.tail(15)}`);
  }

  private spawn(extraEnv: Record<string, string> = {}): void {
    mkdirSync(dirname(this.o.logPath), { recursive: true });
    const fd = openSync(this.o.logPath, 'a');
    const armed = extraEnv.FLYWHEEL_FAILPOINTS ? `, failpoints ${extraEnv.FLYWHEEL_FAILPOINTS}` : '';
    writeSync(fd, `\n==== ${new Date().toISOString()} starting ${this.name} (port ${this.o.port}${armed})\n`);
    const child = spawn(process.execPath, [this.o.entry], { cwd: this.o.cwd, env: { ...this.o.env, ...extraEnv }, stdio: ['ignore', fd, fd] });
    closeSync(fd); // the child holds its own copy
    this.child = child;
    this.exitInfo = undefined;
    this.expectingExit = false;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.sample();
        this.exitInfo = { code, signal, expected: this.expectingExit };
        resolve();
      });
    });
    child.once('error', (err) => {
      this.exitInfo = { code: null, signal: null, expected: false };
      writeSync(openSync(this.o.logPath, 'a'), `spawn failed: ${err.message}\n`);
    });
  }

  /** Polls GET /readyz until it answers 200; throws ServiceFailed with the log tail on exit or timeout. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.exitInfo) {
        throw new ServiceFailed(this.name, `${this.name} exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal}) before it was ready; last lines of ${this.o.logPath}:\n${this.tail()}`);
      }
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) return;
        last = `${res.status} ${(await res.text()).slice(0, 300)}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      this.sample();
      await sleep(200);
    }
    throw new ServiceFailed(this.name, `${this.name} was not ready after ${Math.round(timeoutMs / 1000)} s (GET /readyz: ${last}); last lines of ${this.o.logPath}:\n${this.tail()}`);
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code (null when killed by a signal or not running). */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    const child = this.child;
    if (!child || this.exitInfo) return this.exitInfo?.code ?? null;
    this.expectingExit = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.lastExitCode();
  }

  private lastExitCode(): number | null {
    return this.exitInfo?.code ?? null;
  }

  /** Sends `signal` (default SIGKILL) and resolves when the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || this.exitInfo) return;
    this.expectingExit = true;
    child.kill(signal);
    await this.exited;
  }

  /** Takes one memory sample; the peak is the max of VmRSS and VmHWM seen over every run of the process. */
  sample(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    const { rss, hwm } = readPeakRss(pid);
    this.peak = Math.max(this.peak, rss, hwm);
  }

  get peakRssBytes(): number {
    return this.peak;
  }
}
