import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { findRepoRoot, startLocalStack, type LocalStack, type ServiceName } from '@flywheel/local-stack';
import { createPool, type Pool } from '@flywheel/postgres';
import { corpus, toJsonl } from './corpus.js';
import { createRng } from './prng.js';
import { startPrivatePlatform, type PrivatePlatform } from './privatePlatform.js';
import { waitFor } from './waitFor.js';

/** A client of the traffic: trusted reviewers send corrections, standard users thumbs (A/B outcomes). */
export interface TrafficClient { name: string; key: string; style: 'label' | 'thumbs' }

/** The private platform, the six services on it, a model with a live 50/50 experiment, and the clients' keys. */
export interface ChaosWorld {
  platform: PrivatePlatform;
  stack: LocalStack;
  model: string;
  champion: string;
  challenger: string;
  experimentId: string;
  clients: TrafficClient[];
  /** On the stack's schema, for the checks (read-only use). */
  pool: Pool;
  workDir: string;
  close(): Promise<void>;
}

/**
 * Settings that make the loop turn within a minute (the e2e tests' values): 30 corrections
 * trigger, the router decides on 100 outcomes per arm, crashed consumers leave their group in 6 s.
 */
const CHAOS_ENV: Partial<Record<ServiceName, Record<string, string>>> = {
  'feedback-ingest': { RETRAIN_CORRECTION_THRESHOLD: '30', RELAY_IDLE_POLL_MS: '50' },
  aggregator: { RETRAIN_CORRECTION_THRESHOLD: '30', SWEEP_INTERVAL_MS: '500' },
  trainer: { GATE_MAX_FORGETTING: '0.2', GATE_MIN_IMPROVEMENT: '-0.1', JOB_STALE_AFTER_MS: '8000' },
  'ab-router': { EVAL_INTERVAL_MS: '1000', SPLIT_BPS: '5000', MIN_SAMPLE_PER_ARM: '100', HEALTH_WINDOW: '80', HEALTH_MIN_SAMPLES: '40', HEALTH_MAX_ACCURACY_DROP: '0.3' },
  serving: { RELEASE_GRACE_MS: '500' },
};
const COMMON_ENV = { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_REBALANCE_TIMEOUT_MS: '10000', KEYRING_REFRESH_MS: '1000', LOG_LEVEL: 'warn' };

const Started = z.object({ id: z.string().uuid() }).passthrough();
const ServingView = z.object({ champion: z.object({ version: z.string() }).optional(), challenger: z.object({ version: z.string() }).optional() }).passthrough();

/** `keepLogsIn`: the services' logs are copied there before the private platform is removed. */
export const startChaosWorld = async (o: { seed: number; log: (line: string) => void; keepLogsIn?: string | undefined }): Promise<ChaosWorld> => {
  const root = findRepoRoot();
  const platform = await startPrivatePlatform({ log: o.log });
  const workDir = join(platform.dir, 'work');
  mkdirSync(workDir, { recursive: true });
  const model = 'chaos-model';
  let stack: LocalStack | undefined;
  let pool: Pool | undefined;
  // If the process ends without close(), the services must not outlive it (they would hold ports and the private stores' clients).
  const onExit = (): void => {
    for (const svc of stack?.services ?? []) {
      const pid = stack?.pid(svc);
      if (pid !== undefined) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  };
  process.once('exit', onExit);
  const close = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    const failures: string[] = [];
    for (const [what, fn] of [
      ['stop the services', async () => stack?.stopAll()],
      ['keep the logs', async () => { if (o.keepLogsIn) cpSync(join(workDir, 'logs'), o.keepLogsIn, { recursive: true }); }],
      ['close the pool', async () => pool?.end()],
      ['remove the private platform', () => platform.close()],
    ] as const) {
      try {
        await fn();
      } catch (err) {
        failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`bench:chaos left things behind:\n  ${failures.join('\n  ')}`);
  };
  try {
    o.log(`starting the six services (logs in ${workDir}/logs)…`);
    stack = await startLocalStack({
      root, runId: `chaos-${o.seed >>> 0}`.slice(0, 40), pgSchema: 'chaos', logDir: join(workDir, 'logs'), trainerModels: model,
      platformEnv: platform.env, commonEnv: COMMON_ENV, env: CHAOS_ENV,
    });
    const s = stack;
    pool = createPool(s.platformEnv.POSTGRES_URL as string, { max: 4, applicationName: 'bench-chaos' });

    // Two versions: the second bootstrap is champion, the first the challenger of a 50/50 experiment.
    const rng = createRng(o.seed);
    const versions: string[] = [];
    for (const n of [1, 2]) {
      const file = join(workDir, `base-${n}.jsonl`);
      writeFileSync(file, toJsonl(corpus(rng, 40)));
      o.log(`bootstrapping ${model} (${n}/2)…`);
      const { stdout } = await s.cli(['bootstrap', '--model', model, '--data', file, '--format', 'jsonl', '--reason', 'bench:chaos base'], { timeoutMs: 240_000 });
      const v = /@(\d+\.\d+\.\d+) is champion/.exec(stdout)?.[1];
      if (v === undefined) throw new Error(`flywheel bootstrap did not say which version is champion:\n${stdout}`);
      versions.push(v);
    }
    const [challenger, champion] = versions as [string, string];

    const keyOf = async (name: string, trust: 'trusted' | 'standard'): Promise<string> => {
      const { stdout } = await s.cli(['keys', 'create', name, '--scopes', 'predict,feedback', '--trust', trust]);
      const key = stdout.trim().split('\n').at(-1)?.trim();
      if (!key) throw new Error(`flywheel keys create ${name} printed no key:\n${stdout}`);
      return key;
    };
    const clients: TrafficClient[] = [
      { name: 'chaos-reviewer', key: await keyOf('chaos-reviewer', 'trusted'), style: 'label' },
      { name: 'chaos-user-1', key: await keyOf('chaos-user-1', 'standard'), style: 'thumbs' },
      { name: 'chaos-user-2', key: await keyOf('chaos-user-2', 'standard'), style: 'thumbs' },
    ];

    o.log(`starting an experiment: champion ${champion}, challenger ${challenger} at 50 %…`);
    const experimentId = await waitFor('the ab-router to start the experiment', async () => {
      const r = await fetch(`${s.url('ab-router')}/admin/experiments`, {
        method: 'POST', headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, challengerVersion: challenger, settings: { splitBps: 5_000 } }),
      });
      const text = await r.text();
      if (r.status === 201) return Started.parse(JSON.parse(text)).id;
      if (r.status >= 500) throw new Error(`ab-router answered ${r.status}: ${text.slice(0, 300)}`);
      return undefined;
    }, { timeoutMs: 60_000, intervalMs: 1_000 });
    await waitFor(`serving to route ${model} to ${champion} and ${challenger}`, async () => {
      const v = ServingView.parse(await s.api.serving.model(model));
      return v.champion?.version === champion && v.challenger?.version === challenger ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
    // Keys reach the services' keyrings within KEYRING_REFRESH_MS.
    for (const c of clients) {
      await waitFor(`serving and feedback-ingest to know ${c.name}'s key`, async () => {
        const a = await fetch(`${s.url('serving')}/v1/models/${model}`, { headers: { authorization: `Bearer ${c.key}` } });
        const b = await fetch(`${s.url('feedback-ingest')}/v1/models/${model}/retraining`, { headers: { authorization: `Bearer ${c.key}` } });
        return a.status === 200 && b.status === 200 ? true : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 });
    }
    return { platform, stack: s, model, champion, challenger, experimentId, clients, pool, workDir, close };
  } catch (err) {
    await close().catch((closeErr: unknown) => { throw new AggregateError([err, closeErr], 'bench:chaos failed to start, then failed to clean up'); });
    throw err;
  }
};
