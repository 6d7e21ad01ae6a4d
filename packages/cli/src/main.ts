#!/usr/bin/env node
// flywheel — the operator CLI. The only composition root of this package: reads the environment,
// builds clients, runs one command, closes everything. Exit status: see exitCodeOf.
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { migrateAuth } from '@flywheel/auth';
import { createKafkaBus, type Bus } from '@flywheel/bus';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool, type Pool } from '@flywheel/postgres';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { commaList, ConfigError, createLogger, createMetricsRegistry, parseEnvFile, parseOrExplain, S3Config } from '@flywheel/runtime';
import { columnFormat, modelArg, need, parseCli, positiveInt, USAGE, versionArg, type ParsedCli } from './cliArgs.js';
import { exitCodeOf, UsageError } from './cliErrors.js';
import { commands, requireModel } from './commands.js';
import { experimentCommand } from './experimentCommand.js';
import { exportCommand, exportTarget } from './exportCommand.js';
import { infoCommand } from './infoCommand.js';
import { keysCommand } from './keysCommand.js';
import { labelsCommand } from './labelsCommand.js';
import { predictCommands } from './predictCommand.js';
import { reportCommand } from './reportCommand.js';
import { retrainCommand } from './retrainCommand.js';
import { pgRunningExperiment } from './runningExperiment.js';
import { createServiceCall, type ServiceCall } from './serviceClient.js';
import { watchFolder } from './watch/watchFolder.js';

const url = (name: string) => z.string().url(`${name} must be a URL like http://127.0.0.1:8080`).optional();
/** Every variable is optional here; each command asks for the ones it needs (see `required`). */
const CliEnv = z.object({
  POSTGRES_URL: z.string().url('POSTGRES_URL must be a URL like postgres://user@host:5432/db').optional(),
  KAFKA_BROKERS: commaList.optional(),
  TOPIC_PREFIX: z.string().default(''),
  SERVING_URL: url('SERVING_URL'),
  FEEDBACK_URL: url('FEEDBACK_URL'),
  ABROUTER_URL: url('ABROUTER_URL'),
  DRIFT_URL: url('DRIFT_URL'),
  ADMIN_TOKEN: z.string().min(1).optional(),
  API_KEY: z.string().min(1).optional(),
  USER: z.string().default('operator'),
});
type CliEnv = z.infer<typeof CliEnv>;

/** The environment: --env-file under the process environment (which wins); empty values count as unset. */
const loadEnv = (file: string | undefined): Record<string, string> => {
  let fromFile: Record<string, string> = {};
  if (file !== undefined) {
    try {
      fromFile = parseEnvFile(readFileSync(file, 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
      throw new ConfigError(`--env-file ${file} cannot be read (${code}); pass an existing file, e.g. --env-file .flywheel/platform.env (written by: bash scripts/platform.sh up)`);
    }
  }
  const merged = { ...fromFile, ...process.env };
  return Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
};

/** A variable this command cannot run without. */
const required = <K extends keyof CliEnv>(config: CliEnv, name: K): NonNullable<CliEnv[K]> => {
  const v = config[name];
  if (v === undefined) throw new ConfigError(`${String(name)} is not set; this command needs it: set it in the environment or in the --env-file`);
  return v as NonNullable<CliEnv[K]>;
};

const noMoreArgs = (args: readonly string[], n: number): void => {
  if (args.length > n) throw new UsageError(`unexpected argument "${args[n]}"`);
};

const closers: (() => Promise<unknown>)[] = [];

const run = async ({ command, args, o }: ParsedCli & { command: string }, rawEnv: Record<string, string>): Promise<number> => {
  const config = parseOrExplain(CliEnv, rawEnv, 'flywheel CLI environment');
  const print = (l: string): void => console.log(l);
  const actor = o.actor ?? `cli:${config.USER}`;
  let pool: Pool | undefined;
  const getPool = async (): Promise<Pool> => {
    if (!pool) {
      pool = createPool(required(config, 'POSTGRES_URL'), { max: 2, applicationName: 'flywheel-cli' });
      const p = pool;
      closers.push(() => p.end());
      await migrateRegistry(p);
    }
    return pool;
  };
  const registry = async (): Promise<PgRegistry> => new PgRegistry(await getPool());
  const service = (name: string, baseUrl: string): ServiceCall => createServiceCall({ service: name, baseUrl, apiKey: config.API_KEY, adminToken: config.ADMIN_TOKEN });

  switch (command) {
    case 'bootstrap':
    case 'import':
    case 'models':
    case 'versions':
    case 'history':
    case 'promote':
    case 'rollback':
    case 'export': {
      const publish = !o['no-publish'] && ['bootstrap', 'import', 'promote', 'rollback'].includes(command);
      if (publish && !config.KAFKA_BROKERS) throw new ConfigError('KAFKA_BROKERS is not set: set it so serving hears about the change, or pass --no-publish');
      let bus: Bus | undefined;
      if (publish && config.KAFKA_BROKERS) {
        const b = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'flywheel-cli', logger: createLogger({ service: 'cli', level: 'warn' }), metrics: createMetricsRegistry('cli'), topicPrefix: config.TOPIC_PREFIX, dedupe: { seen: async (_g, ids) => ids.map(() => false), mark: async () => {} } });
        bus = b;
        closers.push(() => b.close());
      }
      const artifacts = async (): Promise<MinioArtifactStore> => {
        const s3 = parseOrExplain(S3Config, rawEnv, `object store settings for flywheel ${command}`);
        return new MinioArtifactStore(await MinioObjectStore.fromSettings({ endpoint: s3.S3_ENDPOINT, accessKey: s3.S3_ACCESS_KEY, secretKey: s3.S3_SECRET_KEY, bucket: s3.S3_BUCKET, region: s3.S3_REGION }));
      };
      const deps = { registry: await registry(), artifacts, publisher: bus?.publisher, print, actor };
      // Your encoder as a frozen base, trained here on your data (import --encoder DIR, or bootstrap --encoder DIR).
      const importOnEncoder = async (encoderDir: string): Promise<void> => {
        if (o.version !== undefined) throw new UsageError('--version applies to --classifier imports; an encoder model gets the next major version');
        const data = need(o.data, '--data FILE (the rows to train on your encoder)');
        const epochs = positiveInt(o.epochs, '--epochs');
        const buckets = positiveInt(o['ngram-buckets'], '--ngram-buckets');
        if (buckets !== undefined && !o.hybrid) throw new UsageError('--ngram-buckets sizes the n-gram half of a --hybrid base; add --hybrid');
        const f = columnFormat(o, data);
        await commands.importEncoder(deps, {
          model: modelArg(o.model, '--model NAME'), dir: encoderDir, data,
          ...(o.hybrid ? { hybridBuckets: buckets ?? 1024 } : {}),
          format: { format: f.format, header: f.header, textColumn: f.textColumn, labelColumn: f.labelColumn, ...(f.labelDepth ? { labelDepth: f.labelDepth } : {}) },
          ...(o.reason ? { reason: o.reason } : {}), ...(epochs ? { epochs } : {}),
        });
      };
      if (command === 'bootstrap' && o.encoder !== undefined) {
        noMoreArgs(args, 0);
        await importOnEncoder(o.encoder);
      } else if (command === 'bootstrap') {
        noMoreArgs(args, 0);
        if (o.hybrid || o['ngram-buckets'] !== undefined) throw new UsageError('--hybrid is a base on your encoder: add --encoder DIR');
        const data = need(o.data, '--data FILE');
        const epochs = positiveInt(o.epochs, '--epochs');
        const f = columnFormat(o, data);
        await commands.bootstrap(deps, {
          model: modelArg(o.model, '--model NAME'), data,
          format: { format: f.format, header: f.header, textColumn: f.textColumn, labelColumn: f.labelColumn, ...(f.labelDepth ? { labelDepth: f.labelDepth } : {}) },
          ...(o.reason ? { reason: o.reason } : {}), ...(epochs ? { epochs } : {}),
        });
      } else if (command === 'import') {
        noMoreArgs(args, 0);
        if (o.classifier === undefined && o.encoder !== undefined) {
          await importOnEncoder(o.encoder);
        } else {
          if (o.data !== undefined) throw new UsageError('--data trains on an encoder (import --encoder DIR --data FILE); a --classifier import is served as it is');
          if (o.hybrid || o['ngram-buckets'] !== undefined) throw new UsageError('--hybrid applies to encoder imports (import --encoder DIR --data FILE --hybrid)');
          await commands.import(deps, {
            model: modelArg(o.model, '--model NAME'), dir: need(o.classifier, '--classifier DIR or --encoder DIR'),
            ...(o.encoder !== undefined ? { encoderDir: o.encoder } : {}),
            ...(o.version !== undefined ? { version: versionArg(o.version) } : {}), ...(o.reason ? { reason: o.reason } : {}),
          });
        }
      } else if (command === 'models') {
        noMoreArgs(args, 0);
        await commands.models(deps);
      } else if (command === 'versions' || command === 'history') {
        noMoreArgs(args, 1);
        await commands[command](deps, modelArg(args[0]));
      } else if (command === 'promote') {
        noMoreArgs(args, 2);
        await commands.promote(deps, modelArg(args[0]), versionArg(args[1]), need(o.reason, '--reason TEXT'));
      } else if (command === 'rollback') {
        noMoreArgs(args, 1);
        await commands.rollback(deps, modelArg(args[0]), need(o.reason, '--reason TEXT'));
      } else if (o.out !== undefined) {
        // the older form: copy the version's raw artifacts (adapter, state, base) as stored
        noMoreArgs(args, 2);
        await commands.export(deps, modelArg(args[0]), versionArg(args[1]), o.out);
      } else {
        noMoreArgs(args, 2);
        await exportCommand(deps, exportTarget(args[0]), need(args[1], 'DIR'));
      }
      return 0;
    }
    case 'keys': {
      const p = await getPool();
      await migrateAuth(p);
      await keysCommand({ pool: p, print, actor }, args, o);
      return 0;
    }
    case 'labels': {
      required(config, 'ADMIN_TOKEN');
      await labelsCommand({ feedback: service('feedback-ingest', required(config, 'FEEDBACK_URL')), print }, args);
      return 0;
    }
    case 'predict': {
      const model = modelArg(args[0]);
      const text = args.slice(1).join(' ');
      if (o.in !== undefined && text !== '') throw new UsageError('give either TEXT or --in FILE, not both');
      const serving = service('serving', required(config, 'SERVING_URL'));
      if (o.in !== undefined) await predictCommands.file({ serving, print }, model, o.in, columnFormat(o, o.in), need(o.out, '--out OUT.csv'));
      else await predictCommands.one({ serving, print }, model, need(text || undefined, 'TEXT (or --in FILE --out OUT.csv)'));
      return 0;
    }
    case 'info': {
      noMoreArgs(args, 1);
      const model = modelArg(args[0]);
      const abRouter = config.ABROUTER_URL && config.ADMIN_TOKEN ? service('ab-router', config.ABROUTER_URL) : undefined;
      await infoCommand({
        registry: await registry(), abRouter, experimentFromDb: abRouter ? undefined : pgRunningExperiment(await getPool()),
        feedback: config.FEEDBACK_URL ? service('feedback-ingest', config.FEEDBACK_URL) : undefined, print,
      }, model);
      return 0;
    }
    case 'experiments':
    case 'experiment': {
      await experimentCommand({ abRouter: service('ab-router', required(config, 'ABROUTER_URL')), print }, command, args, o);
      return 0;
    }
    case 'report': {
      noMoreArgs(args, 1);
      const model = modelArg(args[0]);
      required(config, 'ADMIN_TOKEN');
      await reportCommand({ drift: service('drift-monitor', required(config, 'DRIFT_URL')), print }, model, { since: o.since, out: o.out });
      return 0;
    }
    case 'retrain': {
      noMoreArgs(args, 1);
      const model = modelArg(args[0]);
      const reason = need(o.reason, '--reason TEXT');
      const feedback = service('feedback-ingest', required(config, 'FEEDBACK_URL'));
      required(config, 'ADMIN_TOKEN');
      await retrainCommand({ feedback, registry: config.POSTGRES_URL ? await registry() : undefined, actor, print }, model, reason);
      return 0;
    }
    case 'watch': {
      noMoreArgs(args, 1);
      const dir = need(args[0], 'DIR');
      if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir} is not a folder; create it first`);
      const model = modelArg(o.model, '--model NAME');
      const feedback = service('feedback-ingest', required(config, 'FEEDBACK_URL'));
      if (config.POSTGRES_URL) await requireModel(await registry(), model);
      columnFormat(o, 'x.csv'); // flag errors now, not at the first file
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      if (!o.once) print(`watching ${dir} for labelled CSV/JSONL files for ${model} (Ctrl-C stops after the file in hand)`);
      const s = await watchFolder(
        { feedback, print, warn: (l) => console.error(l), actor },
        { dir, model, formatFor: (file) => columnFormat(o, file), once: Boolean(o.once), signal: stop.signal },
      );
      print(`watch: ${s.sent} sent, ${s.failed} failed${s.left.length > 0 ? `, ${s.left.length} left in ${dir} (${s.left.join(', ')})` : ''}`);
      return s.left.length > 0 ? 3 : s.failed > 0 ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
};

let command: string | undefined;
try {
  const cli = parseCli(process.argv.slice(2));
  command = cli.command;
  if (cli.o.help) {
    console.log(USAGE);
  } else if (!cli.command) {
    console.error(USAGE);
    process.exitCode = 2;
  } else {
    process.exitCode = await run({ ...cli, command: cli.command }, loadEnv(cli.o['env-file']));
  }
} catch (err) {
  // One clear line (ConfigError lists every variable); never a stack trace for an expected failure.
  const message = err instanceof Error ? err.message : String(err);
  const code = exitCodeOf(err);
  console.error(`flywheel${command ? ` ${command}` : ''}: ${message}${err instanceof UsageError ? '\n(usage: flywheel --help)' : ''}`);
  if (code === 3 && process.env.FLYWHEEL_DEBUG && err instanceof Error) console.error(err.stack);
  process.exitCode = code;
} finally {
  for (const close of closers.reverse()) await close().catch(() => {});
}
