import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { findRepoRoot, readPlatformEnv, startLocalStack, type LocalStack, type ServiceName } from '@flywheel/local-stack';
import { createPool, type Pool } from '@flywheel/postgres';
import { createRedis } from '@flywheel/redis';
import { cleanUpAll, isolatedBucket, removeRedisKeys } from '@flywheel/testing';
import { benchCorpus, toJsonl } from './corpus.js';
import { send } from './http.js';
import { waitFor } from './waitFor.js';

/** The API clients the attacks use: a trusted reviewer, a standard end user, and two single-scope keys for wrong-scope calls. */
export interface Keys {
  trusted: string;
  standard: string;
  predictOnly: string;
  feedbackOnly: string;
}

/** A stack with a live experiment on one model, and everything needed to look at its stores. */
export interface AttackWorld {
  stack: LocalStack;
  model: string;
  champion: string;
  challenger: string;
  experimentId: string;
  keys: Keys;
  /** Client names (as the services record them). */
  clients: { trusted: string; standard: string };
  /** On the stack's schema (read-only use). */
  pool: Pool;
  /** Requests per client per minute the stack allows on predict and on feedback. */
  rateLimitPerMinute: number;
  close(): Promise<void>;
}

export interface WorldOptions {
  services?: readonly ServiceName[];
  rateLimitPerMinute: number;
  log: (line: string) => void;
}

const Started = z.object({ id: z.string().uuid() }).passthrough();
const ServingView = z.object({ champion: z.object({ version: z.string() }).optional(), challenger: z.object({ version: z.string() }).optional() }).passthrough();

/**
 * Starts the services on the local platform with a schema, topic prefix, Redis prefix and S3
 * bucket of their own (all removed by close), bootstraps two versions of a model, starts an A/B
 * experiment (the older version as challenger, 50 %) and issues the clients' keys.
 */
export const startAttackWorld = async (o: WorldOptions): Promise<AttackWorld> => {
  const root = findRepoRoot();
  const platform = readPlatformEnv(root);
  const suffix = randomBytes(4).toString('hex');
  const runId = `bench-attack-${suffix}`;
  const schema = `bench_attack_${suffix}`;
  const redisPrefix = `bench-attack-${suffix}`;
  const model = `bench-attack-${suffix}`;
  const workDir = mkdtempSync(join(tmpdir(), 'flywheel-bench-attack-'));
  const baseUrl = platform.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const bucket = isolatedBucket('bench-attack', suffix, () => ({
    endpoint: platform.S3_ENDPOINT ?? 'http://127.0.0.1:9000', accessKey: platform.S3_ACCESS_KEY ?? 'S3RVER', secretKey: platform.S3_SECRET_KEY ?? 'S3RVER',
  }));
  const redis = createRedis(platform.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let stack: LocalStack | undefined;
  let pool: Pool | undefined;

  // Every step is tried; what could not be removed is named, never left silently.
  const close = (): Promise<void> => cleanUpAll('bench:attack left things behind', [
    ['stop the services', async () => stack?.stopAll()],
    ['close the pool', async () => pool?.end()],
    [`drop schema ${schema}`, async () => {
      const admin = createPool(baseUrl, { max: 1, applicationName: 'bench-attack-cleanup' });
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
    }],
    [`remove bucket ${bucket.bucket}`, () => bucket.drop()],
    [`remove Redis keys ${redisPrefix}*`, () => removeRedisKeys(redis, `${redisPrefix}*`)],
    ['close Redis', () => redis.quit()],
    [`remove ${workDir}`, () => rmSync(workDir, { recursive: true, force: true })],
  ]);

  try {
    const limit = String(o.rateLimitPerMinute);
    o.log(`starting ${(o.services ?? ['all six services']).join(', ')} (schema ${schema}, topics fw-${runId}., logs in ${workDir}/logs)…`);
    stack = await startLocalStack({
      root, runId, pgSchema: schema, logDir: join(workDir, 'logs'), trainerModels: model,
      platformEnv: { ...platform, S3_BUCKET: bucket.settings.bucket },
      ...(o.services ? { services: o.services } : {}),
      commonEnv: { REDIS_PREFIX: redisPrefix, KEYRING_REFRESH_MS: '1000', LOG_LEVEL: 'warn' },
      env: { serving: { PREDICT_RATE_LIMIT_PER_MINUTE: limit }, 'feedback-ingest': { FEEDBACK_RATE_LIMIT_PER_MINUTE: limit } },
    });
    const s = stack;
    pool = createPool(s.platformEnv.POSTGRES_URL as string, { max: 3, applicationName: 'bench-attack' });

    // Two versions: the second bootstrap becomes champion, the first is the challenger of the experiment.
    const versions: string[] = [];
    for (const seed of [11, 23]) {
      const file = join(workDir, `base-${seed}.jsonl`);
      writeFileSync(file, toJsonl(benchCorpus(60, seed)));
      o.log(`bootstrapping ${model} from ${file}…`);
      const { stdout } = await s.cli(['bootstrap', '--model', model, '--data', file, '--format', 'jsonl', '--reason', 'bench:attack base'], { timeoutMs: 240_000 });
      const v = /@(\d+\.\d+\.\d+) is champion/.exec(stdout)?.[1];
      if (v === undefined) throw new Error(`flywheel bootstrap did not say which version is champion:\n${stdout}`);
      versions.push(v);
    }
    const [challenger, champion] = versions as [string, string];

    const keyOf = async (name: string, scopes: string, trust: 'trusted' | 'standard'): Promise<string> => {
      const { stdout } = await s.cli(['keys', 'create', name, '--scopes', scopes, '--trust', trust]);
      const key = stdout.trim().split('\n').at(-1)?.trim();
      if (!key) throw new Error(`flywheel keys create ${name} printed no key:\n${stdout}`);
      return key;
    };
    const clients = { trusted: 'bench-reviewer', standard: 'bench-user' };
    const keys: Keys = {
      trusted: await keyOf(clients.trusted, 'predict,feedback', 'trusted'),
      standard: await keyOf(clients.standard, 'predict,feedback', 'standard'),
      predictOnly: await keyOf('bench-predict-only', 'predict', 'standard'),
      feedbackOnly: await keyOf('bench-feedback-only', 'feedback', 'standard'),
    };

    let experimentId = '';
    if (s.services.includes('ab-router')) {
      o.log(`starting an experiment: champion ${champion}, challenger ${challenger} at 50 %…`);
      const started = await waitFor('the ab-router to start the experiment (it must have seen the champion first)', async () => {
        const r = await send(`${s.url('ab-router')}/admin/experiments`, { key: s.adminToken, body: { model, challengerVersion: challenger, settings: { splitBps: 5_000 } } });
        if (r.status === 201) return Started.parse(JSON.parse(r.text)).id;
        if (r.status >= 500 || r.status === 0) throw new Error(`ab-router answered ${r.status}: ${r.text.slice(0, 300)}`);
        return undefined;
      }, { timeoutMs: 60_000, intervalMs: 1_000 });
      experimentId = started;
    }
    if (s.services.includes('serving')) {
      await waitFor(`serving to load ${champion} as champion and ${challenger} as challenger`, async () => {
        const r = await send(`${s.url('serving')}/v1/models/${model}`, { key: s.adminToken });
        if (r.status !== 200) return undefined;
        const v = ServingView.parse(JSON.parse(r.text));
        return v.champion?.version === champion && (experimentId === '' || v.challenger?.version === challenger) ? true : undefined;
      }, { timeoutMs: 120_000, intervalMs: 500 });
    }
    // Keys are taken up within the keyrings' refresh: wait until each service knows them (403, not 401, for a wrong scope).
    const knows = async (svc: ServiceName, path: string, key: string, status: number): Promise<void> => {
      if (!s.services.includes(svc)) return;
      await waitFor(`${svc} to take up the new keys (${path} answering ${status})`, async () => ((await send(`${s.url(svc)}${path}`, { key })).status === status ? true : undefined), { timeoutMs: 30_000, intervalMs: 500 });
    };
    await knows('serving', `/v1/models/${model}`, keys.standard, 200);
    await knows('serving', `/v1/models/${model}`, keys.feedbackOnly, 403);
    await knows('feedback-ingest', `/v1/admin/models/${model}/labels`, keys.standard, 403);
    await knows('feedback-ingest', `/v1/admin/models/${model}/labels`, keys.predictOnly, 403);
    await knows('ab-router', '/admin/experiments', keys.standard, 403);
    await knows('drift-monitor', `/admin/models/${model}/drift`, keys.standard, 403);
    return { stack: s, model, champion, challenger, experimentId, keys, clients, pool, rateLimitPerMinute: o.rateLimitPerMinute, close };
  } catch (err) {
    await close().catch((closeErr: unknown) => {
      throw new AggregateError([err, closeErr], 'bench:attack failed to start, then failed to clean up');
    });
    throw err;
  }
};
