import { createHash } from 'node:crypto';
import { baseServiceEnv, defaultServiceEnv, SERVICE_NAMES, type ServiceName } from './serviceEnv.js';

/**
 * The operator stack's fixed ports: each service's own default (see its src/config.ts), so the
 * documented addresses hold. `FLYWHEEL_<SERVICE>_PORT` overrides one (e.g. FLYWHEEL_SERVING_PORT).
 */
export const STACK_PORTS: Readonly<Record<ServiceName, number>> = {
  serving: 8080,
  'feedback-ingest': 8081,
  aggregator: 8082,
  'drift-monitor': 8083,
  trainer: 8084,
  'ab-router': 8085,
};

/** Name of the variable that overrides a service's port. */
export const portVariable = (svc: ServiceName): string => `FLYWHEEL_${svc.toUpperCase().replace(/-/g, '_')}_PORT`;

/** Ports from the defaults and the environment's overrides; the error names the bad variable. */
export const stackPorts = (env: Readonly<Record<string, string | undefined>>): Record<ServiceName, number> => {
  const out = { ...STACK_PORTS };
  for (const svc of SERVICE_NAMES) {
    const raw = env[portVariable(svc)];
    if (raw === undefined || raw === '') continue;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`${portVariable(svc)}=${raw} is not a port (1-65535)`);
    out[svc] = port;
  }
  const seen = new Map<number, ServiceName>();
  for (const svc of SERVICE_NAMES) {
    const other = seen.get(out[svc]);
    if (other) throw new Error(`${svc} and ${other} would both listen on port ${out[svc]}; set ${portVariable(svc)} to another port`);
    seen.set(out[svc], svc);
  }
  return out;
};

/**
 * The stack's PostgreSQL schema: fixed and stable like a deployment's, but not `public`, which on a
 * shared development database also holds whatever tests and other tools left there (a model whose
 * artifacts are gone would stop serving from starting).
 */
export const STACK_PG_SCHEMA = 'flywheel';

/** The schema from FLYWHEEL_STACK_PG_SCHEMA (two checkouts sharing one PostgreSQL need two), else STACK_PG_SCHEMA. */
export const stackSchema = (env: Readonly<Record<string, string | undefined>>): string => {
  const schema = env.FLYWHEEL_STACK_PG_SCHEMA || STACK_PG_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`FLYWHEEL_STACK_PG_SCHEMA=${schema} must be a lower-case SQL identifier`);
  return schema;
};

/**
 * What one service of the operator stack gets on top of the caller's environment: the platform
 * addresses (POSTGRES_URL already pointing at `schema`, default STACK_PG_SCHEMA), its port, the admin token, no topic
 * prefix (the production-like layout, unlike the per-run test stacks), and the demo's fast settings
 * so the loop turns in minutes.
 */
export const stackServiceEnv = (svc: ServiceName, o: { platformEnv: Readonly<Record<string, string>>; port: number; adminToken: string; schema?: string; feedbackUrl?: string }): Record<string, string> => ({
  ...baseServiceEnv({ platformEnv: o.platformEnv, port: o.port, adminToken: o.adminToken, topicPrefix: '' }),
  PG_SCHEMA: o.schema ?? STACK_PG_SCHEMA,
  // The trainer reads its training examples from feedback-ingest's API (FEEDBACK_URL).
  ...(svc === 'trainer' ? { FEEDBACK_URL: o.feedbackUrl ?? stackUrls(stackPorts({}))['feedback-ingest'] } : {}),
  ...defaultServiceEnv()[svc],
  // A try-out stack: a retrain from a handful of corrections may score a little below the champion on
  // the gate set and still go to the A/B test, where live outcomes decide (production keeps 0).
  ...(svc === 'trainer' ? { GATE_MIN_IMPROVEMENT: '-0.05' } : {}),
  PORT: String(o.port),
});

/** A short digest of a service's settings: `up` restarts a running service whose settings changed. */
export const settingsDigest = (env: Readonly<Record<string, string>>): string =>
  createHash('sha256').update(JSON.stringify(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).digest('hex').slice(0, 16);

/** `http://127.0.0.1:<port>` of each service. */
export const stackUrls = (ports: Readonly<Record<ServiceName, number>>): Record<ServiceName, string> =>
  Object.fromEntries(SERVICE_NAMES.map((svc) => [svc, `http://127.0.0.1:${ports[svc]}`])) as Record<ServiceName, string>;

/** The variables .flywheel/stack.env holds, in the order written. */
export const stackEnvValues = (o: {
  urls: Readonly<Record<ServiceName, string>>;
  adminToken: string;
  model: string | undefined;
  platformEnv: Readonly<Record<string, string>>;
}): [string, string][] => [
  ['SERVING_URL', o.urls.serving],
  ['FEEDBACK_URL', o.urls['feedback-ingest']],
  ['ABROUTER_URL', o.urls['ab-router']],
  ['AGGREGATOR_URL', o.urls.aggregator],
  ['DRIFT_URL', o.urls['drift-monitor']],
  ['TRAINER_URL', o.urls.trainer],
  ['ADMIN_TOKEN', o.adminToken],
  ...(o.model === undefined ? [] : ([['MODEL', o.model]] as [string, string][])),
  ...Object.entries(o.platformEnv).sort(([a], [b]) => (a < b ? -1 : 1)),
  ['TOPIC_PREFIX', ''],
  ['KAFKAJS_NO_PARTITIONER_WARNING', '1'],
];

/** Quotes a value for a POSIX shell when it holds anything but plain URL/token characters. */
const shellValue = (v: string): string => (/^[A-Za-z0-9_./:@,=+%-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/**
 * `export KEY=value` lines: `source .flywheel/stack.env` sets them in a shell, and the CLI reads the
 * same file with --env-file (its parser drops `export` and one pair of quotes).
 */
export const renderStackEnv = (values: readonly [string, string][]): string =>
  [
    '# Written by `bash scripts/stack.sh up`: the running local stack. Use: source .flywheel/stack.env',
    ...values.map(([k, v]) => `export ${k}=${shellValue(v)}`),
    '',
  ].join('\n');
