import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createPool, withSearchPath } from '@flywheel/postgres';
import { parseEnvFile } from '@flywheel/runtime';
import { DetachedService, portFree } from './DetachedService.js';
import { ServiceFailed } from './errors.js';
import { portVariable, renderStackEnv, settingsDigest, stackEnvValues, stackPorts, stackSchema, stackServiceEnv, stackUrls } from './operatorStackConfig.js';
import { readPlatformEnv } from './platformEnv.js';
import { SERVICE_NAMES, type ServiceName } from './serviceEnv.js';
import { DEFAULT_STACK_MODEL, runBootstrap, servedModels, waitServed, writeShippedSample } from './stackModel.js';

/** What `up --data …` asks for: the model to bootstrap and the CLI's bootstrap options. */
export interface BootstrapRequest {
  data: string;
  model?: string | undefined;
  /** bootstrap options other than --model/--data, passed to the CLI as given */
  options: string[];
}

interface StackDeps {
  root: string;
  /** The caller's environment (ADMIN_TOKEN, FLYWHEEL_<SERVICE>_PORT, PATH, …). */
  env: Readonly<Record<string, string | undefined>>;
  print: (line: string) => void;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

const paths = (root: string) => ({
  stateDir: join(root, '.flywheel', 'stack'),
  envFile: join(root, '.flywheel', 'stack.env'),
  logDir: join(root, '.flywheel', 'logs'),
});

const services = (root: string): Record<ServiceName, DetachedService> => {
  const p = paths(root);
  return Object.fromEntries(SERVICE_NAMES.map((svc) => [svc, new DetachedService(svc, {
    entry: join(root, 'services', svc, 'dist', 'main.js'),
    cwd: join(root, 'services', svc),
    stateDir: p.stateDir,
    logPath: join(p.logDir, `stack-${svc}.log`),
  })])) as Record<ServiceName, DetachedService>;
};

const readStackEnv = (file: string): Record<string, string> => (existsSync(file) ? parseEnvFile(readFileSync(file, 'utf8')) : {});

const writeAtomically = (file: string, text: string): void => {
  const tmp = `${file}.tmp.${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
};

const row = (svc: string, state: string, pid: string, url: string): string => `${svc.padEnd(16)} ${state.padEnd(11)} ${pid.padEnd(8)} ${url}`;

/** A model name from a data file's name (`My Tickets.csv` → `my-tickets`), for `up --data` without --model. */
export const modelNameFromFile = (file: string): string => {
  const stem = basename(file).replace(/\.[^.]*$/, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^[^a-z]+|-+$/g, '').slice(0, 40);
  return stem === '' ? 'my-model' : stem;
};

/**
 * Brings the operator stack up, idempotently: each of the six services that is not already running
 * with the wanted settings is started detached on its fixed port and awaited on /readyz, in start
 * order; then a model is made available (bootstrapped from `bootstrap`, or from the shipped data
 * when serving has none) and .flywheel/stack.env is written.
 */
export const stackUp = async (d: StackDeps, bootstrap?: BootstrapRequest): Promise<void> => {
  const p = paths(d.root);
  mkdirSync(p.stateDir, { recursive: true });
  const platform = readPlatformEnv(d.root);
  if (!platform.POSTGRES_URL) throw new Error('POSTGRES_URL is missing from .flywheel/platform.env: run bash scripts/platform.sh up');
  const schema = stackSchema(d.env);
  await ensureSchema(platform.POSTGRES_URL, schema);
  // Every service and the CLI (through stack.env) work in the stack's schema.
  const platformEnv = { ...platform, POSTGRES_URL: withSearchPath(platform.POSTGRES_URL, schema) };
  const existing = readStackEnv(p.envFile);
  const adminToken = d.env.ADMIN_TOKEN || existing.ADMIN_TOKEN || randomBytes(16).toString('hex');
  if (adminToken.length < 16) throw new Error('ADMIN_TOKEN must be at least 16 characters (the services refuse a shorter one); unset it to get a generated one');
  const ports = stackPorts(d.env);
  const urls = stackUrls(ports);
  const callerEnv = Object.fromEntries(Object.entries(d.env).filter((e): e is [string, string] => e[1] !== undefined));
  const writeEnv = (model: string | undefined) =>
    writeAtomically(p.envFile, renderStackEnv(stackEnvValues({ urls, adminToken, model, platformEnv })));
  // Written before anything starts: a service started below already has this token.
  writeEnv(existing.MODEL);

  const procs = services(d.root);
  d.print(row('SERVICE', 'STATE', 'PID', 'URL'));
  for (const svc of SERVICE_NAMES) {
    const proc = procs[svc];
    const entry = join(d.root, 'services', svc, 'dist', 'main.js');
    if (!existsSync(entry)) throw new ServiceFailed(svc, `${entry} does not exist: build first (bash scripts/setup.sh)`);
    const own = stackServiceEnv(svc, { platformEnv, port: ports[svc], adminToken, schema, feedbackUrl: urls['feedback-ingest'] });
    const settings = settingsDigest(own);
    let state = 'running';
    const running = proc.pid();
    if (running !== undefined && proc.record()?.settings !== settings) {
      // Platform addresses (a restarted Kafka mock), the token or the port changed since it started.
      await proc.stop(d.stopTimeoutMs ?? 15_000);
      state = 'restarted';
    }
    if (proc.pid() === undefined) {
      await proc.stop(0); // clears stale pid/record files
      if (!(await portFree(ports[svc]))) {
        throw new ServiceFailed(svc, `port ${ports[svc]} (${svc}) is taken by a process this stack did not start; find it with: ss -ltnp 'sport = :${ports[svc]}'; stop it, or set ${portVariable(svc)} to a free port`);
      }
      proc.spawn({ ...callerEnv, ...own }, ports[svc], settings);
      if (state === 'running') state = 'started';
    }
    await proc.waitReady(ports[svc], d.readyTimeoutMs ?? 120_000);
    d.print(row(svc, state, String(proc.pid() ?? '-'), urls[svc]));
  }

  const model = await ensureModel(d, { servingUrl: urls.serving, adminToken, existingModel: existing.MODEL, bootstrap, cliEnv: { ...callerEnv, ...platformEnv, TOPIC_PREFIX: '', KAFKAJS_NO_PARTITIONER_WARNING: '1' } });
  writeEnv(model);
  d.print('');
  d.print(`model:   ${model} (served at ${urls.serving}/v1/models/${model}/predict)`);
  d.print(`env:     .flywheel/stack.env (ADMIN_TOKEN, MODEL, the URLs and the platform addresses): source .flywheel/stack.env`);
  d.print(`logs:    .flywheel/logs/stack-<service>.log   status: bash scripts/stack.sh status   stop: bash scripts/stack.sh down`);
};

const ensureSchema = async (url: string, schema: string): Promise<void> => {
  const pool = createPool(url, { max: 1, applicationName: 'stack' });
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await pool.end();
  }
};

/** Bootstraps what was asked for, or the shipped sample when serving has no model yet; waits until serving answers for it. */
const ensureModel = async (
  d: StackDeps,
  o: { servingUrl: string; adminToken: string; existingModel: string | undefined; bootstrap: BootstrapRequest | undefined; cliEnv: Record<string, string> },
): Promise<string> => {
  const timeoutMs = 120_000;
  if (o.bootstrap) {
    const model = o.bootstrap.model ?? modelNameFromFile(o.bootstrap.data);
    d.print(`\nbootstrapping ${model} from ${o.bootstrap.data}`);
    const version = await runBootstrap(d.root, o.cliEnv, model, ['--data', resolve(o.bootstrap.data), ...o.bootstrap.options]);
    await waitServed(o.servingUrl, o.adminToken, model, version, timeoutMs);
    return model;
  }
  const served = await servedModels(o.servingUrl, o.adminToken);
  const known = [o.existingModel, DEFAULT_STACK_MODEL].find((m) => m !== undefined && served.includes(m));
  if (known !== undefined) return known;
  d.print(`\nno model served yet: bootstrapping ${DEFAULT_STACK_MODEL} from a sample of the shipped Flipkart catalogue (well under a minute)`);
  const options = writeShippedSample(d.root, join(paths(d.root).stateDir, `${DEFAULT_STACK_MODEL}-sample.csv`));
  const version = await runBootstrap(d.root, o.cliEnv, DEFAULT_STACK_MODEL, options);
  await waitServed(o.servingUrl, o.adminToken, DEFAULT_STACK_MODEL, version, timeoutMs);
  return DEFAULT_STACK_MODEL;
};

/** Stops exactly the services `up` recorded (reverse start order); .flywheel/stack.env stays, so the next `up` keeps its token and model. */
export const stackDown = async (d: StackDeps): Promise<void> => {
  const procs = services(d.root);
  for (const svc of [...SERVICE_NAMES].reverse()) {
    const pid = await procs[svc].stop(d.stopTimeoutMs ?? 15_000);
    d.print(pid === undefined ? `${svc.padEnd(16)} was not running` : `${svc.padEnd(16)} stopped (pid ${pid})`);
  }
};

/** Prints each service with pid, port and health; resolves false when any is not ready. */
export const stackStatus = async (d: StackDeps): Promise<boolean> => {
  const procs = services(d.root);
  let ok = true;
  d.print(`${'SERVICE'.padEnd(16)} ${'PID'.padEnd(8)} ${'PORT'.padEnd(6)} HEALTH`);
  for (const svc of SERVICE_NAMES) {
    const h = await procs[svc].health();
    if (h.health !== 'ready') ok = false;
    d.print(`${svc.padEnd(16)} ${String(h.pid ?? '-').padEnd(8)} ${String(h.port ?? '-').padEnd(6)} ${h.health}`);
  }
  const env = readStackEnv(paths(d.root).envFile);
  if (ok && env.MODEL && env.SERVING_URL) {
    const served = await servedModels(env.SERVING_URL, env.ADMIN_TOKEN ?? '').catch((): string[] => []);
    d.print(`model: ${env.MODEL} ${served.includes(env.MODEL) ? 'served' : 'NOT served'} by ${env.SERVING_URL}`);
    if (!served.includes(env.MODEL)) ok = false;
  }
  return ok;
};
