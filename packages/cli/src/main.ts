#!/usr/bin/env node
// flywheel — the operator CLI. The only composition root of this package: reads the environment,
// builds clients, runs one command, closes everything.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createKafkaBus } from '@flywheel/bus';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool } from '@flywheel/postgres';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { commaList, createLogger, createMetricsRegistry, FlywheelError, parseOrExplain, S3Config, parseEnvFile } from '@flywheel/runtime';
import { commands } from './commands.js';

const USAGE = `flywheel <command> [options]

  bootstrap --model NAME --data FILE [--format csv|jsonl] [--text-column C] [--label-column C]
            [--no-header] [--label-depth N] [--epochs N] [--reason TEXT]
                                  train a base on a CSV/JSONL file and register it as champion
  models                          list models with champion and challenger
  versions MODEL                  list versions with status and metrics
  history MODEL                   show every status move (who, why, metrics)
  promote MODEL VERSION --reason TEXT
  rollback MODEL --reason TEXT    the previous champion comes back; the current one is deprecated
  export MODEL VERSION --out DIR  copy a version's verified artifacts (and its base) to a folder

global: --env-file FILE (e.g. .flywheel/platform.env), --actor NAME, --no-publish (skip model-updates events)
env: POSTGRES_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET, KAFKA_BROKERS (for events), TOPIC_PREFIX`;

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'env-file': { type: 'string' }, actor: { type: 'string' }, 'no-publish': { type: 'boolean' },
    model: { type: 'string' }, data: { type: 'string' }, format: { type: 'string' }, 'text-column': { type: 'string' }, 'label-column': { type: 'string' },
    'no-header': { type: 'boolean' }, 'label-depth': { type: 'string' }, epochs: { type: 'string' }, reason: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  },
});
const [command, ...args] = positionals;
if (!command || o.help) {
  console.log(USAGE);
  process.exit(command || o.help ? 0 : 2);
}
const fail = (msg: string): never => {
  console.error(`flywheel ${command}: ${msg}\n\n${USAGE}`);
  process.exit(2);
};
const env = { ...(o['env-file'] ? parseEnvFile(readFileSync(o['env-file'], 'utf8')) : {}), ...process.env };
const config = parseOrExplain(S3Config.extend({ POSTGRES_URL: z.string().url(), KAFKA_BROKERS: commaList.optional(), TOPIC_PREFIX: z.string().default(''), USER: z.string().default('operator') }), env, 'flywheel CLI environment');
const publish = !o['no-publish'] && ['bootstrap', 'promote', 'rollback'].includes(command);
if (publish && !config.KAFKA_BROKERS) fail('KAFKA_BROKERS is not set: set it so serving hears about the change, or pass --no-publish');

const logger = createLogger({ service: 'cli', level: 'warn' });
const pool = createPool(config.POSTGRES_URL, { max: 2, applicationName: 'flywheel-cli' });
const bus = publish && config.KAFKA_BROKERS
  ? createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'flywheel-cli', logger, metrics: createMetricsRegistry('cli'), topicPrefix: config.TOPIC_PREFIX, dedupe: { seen: async (_g, ids) => ids.map(() => false), mark: async () => {} } })
  : undefined;
try {
  await migrateRegistry(pool);
  const store = await MinioObjectStore.fromSettings({ endpoint: config.S3_ENDPOINT, accessKey: config.S3_ACCESS_KEY, secretKey: config.S3_SECRET_KEY, bucket: config.S3_BUCKET, region: config.S3_REGION });
  const deps = { registry: new PgRegistry(pool), artifacts: new MinioArtifactStore(store), publisher: bus?.publisher, print: (l: string) => console.log(l), actor: o.actor ?? `cli:${config.USER}` };
  const need = (v: string | undefined, what: string): string => v ?? fail(`missing ${what}`);
  switch (command) {
    case 'bootstrap': {
      const data = need(o.data, '--data FILE');
      const format = (o.format ?? (data.endsWith('.jsonl') ? 'jsonl' : 'csv')) as 'csv' | 'jsonl';
      const col = (v: string | undefined, d: string): string | number => (v === undefined ? d : /^\d+$/.test(v) ? Number(v) : v);
      await commands.bootstrap(deps, {
        model: need(o.model, '--model NAME'), data,
        format: { format, header: !o['no-header'], textColumn: col(o['text-column'], 'text'), labelColumn: col(o['label-column'], 'label'), ...(o['label-depth'] ? { labelDepth: Number(o['label-depth']) } : {}) },
        ...(o.reason ? { reason: o.reason } : {}), ...(o.epochs ? { epochs: Number(o.epochs) } : {}),
      });
      break;
    }
    case 'models': await commands.models(deps); break;
    case 'versions': await commands.versions(deps, need(args[0], 'MODEL')); break;
    case 'history': await commands.history(deps, need(args[0], 'MODEL')); break;
    case 'promote': await commands.promote(deps, need(args[0], 'MODEL'), need(args[1], 'VERSION'), need(o.reason, '--reason TEXT')); break;
    case 'rollback': await commands.rollback(deps, need(args[0], 'MODEL'), need(o.reason, '--reason TEXT')); break;
    case 'export': await commands.export(deps, need(args[0], 'MODEL'), need(args[1], 'VERSION'), need(o.out, '--out DIR')); break;
    default: fail(`unknown command "${command}"`);
  }
} catch (err) {
  console.error(`flywheel ${command}: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = err instanceof FlywheelError && !err.retriable ? 1 : 3;
} finally {
  await bus?.close();
  await pool.end();
}
