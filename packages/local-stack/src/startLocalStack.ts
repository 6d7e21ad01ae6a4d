import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createPool, withSearchPath } from '@flywheel/postgres';
import { createStackApi, type StackApi } from './createStackApi.js';
import { ServiceFailed } from './errors.js';
import { freePort, releasePort } from './freePort.js';
import { findRepoRoot, readPlatformEnv } from './platformEnv.js';
import { baseServiceEnv, defaultServiceEnv, SERVICE_NAMES, type ServiceName } from './serviceEnv.js';
import { ServiceProcess } from './ServiceProcess.js';

export interface LocalStackOptions {
  /** Repo root; default: found from this package's location. */
  root?: string;
  /** Platform addresses; default: <root>/.flywheel/platform.env. */
  platformEnv?: Record<string, string>;
  /** Services to run (default all six, started in SERVICE_NAMES order). */
  services?: readonly ServiceName[];
  /** [a-z0-9-]; scopes topics and consumer groups (default random). */
  runId?: string;
  ports?: Partial<Record<ServiceName, number>>;
  /** Per-service variables; they win over everything else. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Added to every service before `env`. */
  commonEnv?: Record<string, string>;
  /** Variables of the caller's environment the services also get (default none: a service gets exactly its config). */
  inheritEnv?: Record<string, string>;
  logDir?: string;
  readyTimeoutMs?: number;
  rssSampleMs?: number;
  /**
   * SQL LIKE pattern of the models this stack's trainer trains (TRAINER_MODELS). Training jobs live in
   * the shared PostgreSQL, so without it a trainer of another stack could claim this stack's jobs.
   * Default '%' (all); tests and the demo pass their model name or prefix.
   */
  trainerModels?: string;
  /**
   * PostgreSQL schema of this stack (created if missing): every service and the CLI get a
   * search_path of it, so feedback, outbox, registry, experiments and jobs are the stack's own.
   * Default `fw_<runId>`; `'public'` shares the default schema.
   */
  pgSchema?: string;
}

/** A running set of services; see API.md. */
export interface LocalStack {
  readonly runId: string;
  readonly root: string;
  readonly topicPrefix: string;
  readonly adminToken: string;
  /** PostgreSQL schema of the stack; `platformEnv.POSTGRES_URL` already points at it. */
  readonly pgSchema: string;
  readonly platformEnv: Readonly<Record<string, string>>;
  readonly services: readonly ServiceName[];
  url(svc: ServiceName): string;
  port(svc: ServiceName): number;
  pid(svc: ServiceName): number | undefined;
  running(svc: ServiceName): boolean;
  env(svc: ServiceName): Readonly<Record<string, string>>;
  logPath(svc: ServiceName): string;
  logTail(svc: ServiceName, lines?: number): string;
  start(svc: ServiceName): Promise<void>;
  stop(svc: ServiceName, timeoutMs?: number): Promise<number | null>;
  kill(svc: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  restart(svc: ServiceName): Promise<void>;
  /** Stops `svc` and starts it with FLYWHEEL_FAILPOINTS=`spec` (this run only); its crash there is expected. */
  armFailpoints(svc: ServiceName, spec: string): Promise<void>;
  /** Waits until `svc` crashed at failpoint `name`; throws naming what was seen instead. */
  waitFailpoint(svc: ServiceName, name: string, timeoutMs?: number): Promise<void>;
  waitReady(svc: ServiceName, timeoutMs?: number): Promise<void>;
  stopAll(): Promise<void>;
  assertAlive(): void;
  peakRssBytes(): Record<ServiceName, number>;
  cli(args: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  readonly api: StackApi;
}

/**
 * Starts the services as child processes on the local platform, together, awaited until ready, and
 * returns handles to stop, kill, restart and call them. On a start failure it stops what it
 * started and throws ServiceFailed (with the failing service's log tail).
 */
export const startLocalStack = async (o: LocalStackOptions = {}): Promise<LocalStack> => {
  const root = o.root ?? findRepoRoot();
  const platformEnv = o.platformEnv ?? readPlatformEnv(root);
  const runId = o.runId ?? randomBytes(4).toString('hex');
  if (!/^[a-z0-9-]{1,40}$/.test(runId)) throw new Error(`runId "${runId}" must be 1-40 of [a-z0-9-]`);
  const topicPrefix = `fw-${runId}.`;
  const adminToken = randomBytes(16).toString('hex');
  const logDir = o.logDir ?? join(root, '.flywheel', 'logs');
  const readyTimeoutMs = o.readyTimeoutMs ?? 90_000;
  const services = o.services ?? SERVICE_NAMES;
  const defaults = defaultServiceEnv();
  const pgSchema = o.pgSchema ?? `fw_${runId.replace(/-/g, '_')}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(pgSchema)) throw new Error(`pgSchema "${pgSchema}" must be a lower-case SQL identifier`);
  const postgresUrl = platformEnv.POSTGRES_URL;
  if (!postgresUrl) throw new Error('POSTGRES_URL is missing from the platform env: run bash scripts/platform.sh up');
  if (pgSchema !== 'public') await ensureSchema(postgresUrl, pgSchema);
  const stackPlatformEnv = { ...platformEnv, POSTGRES_URL: withSearchPath(postgresUrl, pgSchema) };

  const procs = new Map<ServiceName, ServiceProcess>();
  // Every port first, so a service can be told the address of one that starts after it.
  const ports = new Map<ServiceName, number>();
  for (const svc of services) ports.set(svc, o.ports?.[svc] ?? (await freePort()));
  const urlOf = (svc: ServiceName): string | undefined => (ports.has(svc) ? `http://127.0.0.1:${ports.get(svc)}` : undefined);
  for (const svc of services) {
    const entry = join(root, 'services', svc, 'dist', 'main.js');
    if (!existsSync(entry)) throw new ServiceFailed(svc, `${entry} does not exist: build the services first (npx turbo run build, or bash scripts/setup.sh)`);
    const port = ports.get(svc)!;
    const env: Record<string, string> = {
      ...(o.inheritEnv ?? {}),
      ...baseServiceEnv({ platformEnv: stackPlatformEnv, port, adminToken, topicPrefix }),
      PG_SCHEMA: pgSchema, // every service: its relay's lock name and its tables' schema
      // A stack on its own schema keeps its own Redis keys too: the default prefix is the operator stack's,
      // and a flag such as the aggregator's "counters built" must not leak from one to the other.
      ...(pgSchema !== 'public' ? { REDIS_PREFIX: `fw-${runId}` } : {}),
      // feedback-ingest starts first, so its URL is known here; the trainer reads its training examples there.
      ...(svc === 'trainer' && urlOf('feedback-ingest') ? { FEEDBACK_URL: urlOf('feedback-ingest')! } : {}),
      // The weekly report reads experiments and waiting labels from these two.
      ...(svc === 'drift-monitor' && urlOf('feedback-ingest') ? { FEEDBACK_URL: urlOf('feedback-ingest')! } : {}),
      ...(svc === 'drift-monitor' && urlOf('ab-router') ? { ABROUTER_URL: urlOf('ab-router')! } : {}),
      ...defaults[svc],
      ...(svc === 'trainer' && o.trainerModels ? { TRAINER_MODELS: o.trainerModels } : {}),
      ...(o.commonEnv ?? {}),
      ...(o.env?.[svc] ?? {}),
      PORT: String(port),
    };
    procs.set(svc, new ServiceProcess(svc, { entry, cwd: join(root, 'services', svc), env, port, logPath: join(logDir, `${svc}.log`) }));
  }
  const proc = (svc: ServiceName): ServiceProcess => {
    const p = procs.get(svc);
    if (!p) throw new Error(`${svc} is not part of this stack (services: ${[...procs.keys()].join(', ')})`);
    return p;
  };

  const sampler = setInterval(() => { for (const p of procs.values()) p.sample(); }, o.rssSampleMs ?? 500);
  sampler.unref();
  let stopped = false;
  const stopAll = async (): Promise<void> => {
    clearInterval(sampler);
    for (const p of procs.values()) p.sample();
    // Reverse start order: serving stops taking traffic first, the ingest (outbox relay) last.
    for (const svc of [...procs.keys()].reverse()) await proc(svc).stop();
    for (const svc of services) if (o.ports?.[svc] === undefined) releasePort(ports.get(svc)!);
    stopped = true;
  };

  const stack: LocalStack = {
    runId, root, topicPrefix, adminToken, pgSchema, platformEnv: stackPlatformEnv, services,
    url: (svc) => proc(svc).url,
    port: (svc) => Number(new URL(proc(svc).url).port),
    pid: (svc) => proc(svc).pid,
    running: (svc) => proc(svc).running,
    env: (svc) => proc(svc).env,
    logPath: (svc) => join(logDir, `${svc}.log`),
    logTail: (svc, lines) => proc(svc).tail(lines),
    start: (svc) => proc(svc).start(readyTimeoutMs),
    stop: (svc, timeoutMs) => proc(svc).stop(timeoutMs),
    kill: (svc, signal) => proc(svc).kill(signal),
    restart: async (svc) => {
      await proc(svc).stop();
      await proc(svc).start(readyTimeoutMs);
    },
    waitReady: (svc, timeoutMs) => proc(svc).waitReady(timeoutMs ?? readyTimeoutMs),
    armFailpoints: async (svc, spec) => {
      await proc(svc).stop();
      await proc(svc).startWithFailpoints(spec, readyTimeoutMs);
    },
    waitFailpoint: (svc, name, timeoutMs) => proc(svc).waitFailpoint(name, timeoutMs ?? 120_000),
    stopAll: async () => {
      if (!stopped) await stopAll();
    },
    assertAlive: () => {
      const dead = [...procs.values()].filter((p) => p.unexpectedExit);
      if (dead.length === 0) return;
      const first = dead[0] as ServiceProcess;
      const why = dead.map((p) => `${p.name} exited on its own (code ${p.unexpectedExit?.code}, signal ${p.unexpectedExit?.signal}); last lines:\n${p.tail(20)}`).join('\n\n');
      throw new ServiceFailed(first.name, why);
    },
    peakRssBytes: () => Object.fromEntries([...procs.entries()].map(([k, p]) => [k, p.peakRssBytes])) as Record<ServiceName, number>,
    cli: (args, opts) => runCli(root, { ...stackPlatformEnv, TOPIC_PREFIX: topicPrefix }, args, opts?.timeoutMs ?? 300_000),
    api: createStackApi((svc) => proc(svc).url, adminToken),
  };

  // All at once, as a deployment starts them: each service migrates what it reads and waits for
  // what it needs, so the order does not matter, and most of a start is waiting (group joins).
  const started = await Promise.allSettled(services.map((svc) => proc(svc).start(readyTimeoutMs)));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  return stack;
};


const ensureSchema = async (url: string, schema: string): Promise<void> => {
  const pool = createPool(url, { max: 1, applicationName: 'local-stack' });
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await pool.end();
  }
};

const runCli = (root: string, env: Record<string, string>, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const entry = join(root, 'packages', 'cli', 'dist', 'main.js');
    const child = spawn(process.execPath, [entry, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`flywheel ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${(stderr || stdout).trim().slice(-2000)}`));
    });
  });
