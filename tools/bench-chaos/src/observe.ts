import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { ArtifactRef, RoutingTable } from '@flywheel/contracts';
import { MinioObjectStore } from '@flywheel/objectstore';
import type { Pool } from '@flywheel/postgres';
import type { DecisionState, ExperimentRow, JobRow, LedgerRow, PartitionLag, RoutingRow } from './checks.js';
import type { ChaosWorld } from './world.js';

/** Reads what the checks judge from the private stores and the services (read-only). */
export interface Observer {
  ledger(): Promise<LedgerRow[]>;
  jobs(): Promise<JobRow[]>;
  /** Jobs not finished yet (queued or running). */
  openJobs(): Promise<number>;
  decisions(): Promise<DecisionState>;
  versions(): Promise<{ model: string; version: string; manifestKey: string; manifestExists: boolean }[]>;
  /** Lag of every partition each consumer group of the stack has committed on. */
  lags(): Promise<PartitionLag[]>;
  close(): Promise<void>;
}

/** The consumer groups with a fixed name (serving's group is per process and starts at the end, so it has no lag to owe). */
const GROUPS = ['feedback-ingest', 'aggregator', 'drift-monitor', 'trainer', 'ab-router'];
const ServingView = z.object({ champion: z.object({ version: z.string() }).optional(), challenger: z.object({ version: z.string() }).optional() }).passthrough();

const rows = async <T>(pool: Pool, sql: string, params: unknown[] = []): Promise<T[]> => (await pool.query(sql, params)).rows as T[];

export const createObserver = async (w: ChaosWorld): Promise<Observer> => {
  const env = w.platform.env;
  const store = await MinioObjectStore.fromSettings({ endpoint: env.S3_ENDPOINT as string, accessKey: env.S3_ACCESS_KEY as string, secretKey: env.S3_SECRET_KEY as string, bucket: env.S3_BUCKET as string });
  const kafka = new Kafka({ clientId: 'bench-chaos-observer', brokers: (env.KAFKA_BROKERS as string).split(','), logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const pool = w.pool;
  const prefix = w.stack.topicPrefix;
  return {
    ledger: async () => (await rows<{ event_id: string; prediction_id: string | null }>(pool,
      'SELECT a.event_id::text, f.prediction_id::text FROM aggregator_feedback a LEFT JOIN feedback f ON f.id = a.event_id')).map((r) => ({ eventId: r.event_id, predictionId: r.prediction_id })),
    jobs: async () => (await rows<{ id: string; model: string; fencing_token: string; state: string }>(pool, 'SELECT id::text, model, fencing_token, state FROM training_jobs'))
      .map((r) => ({ id: r.id, model: r.model, fencingToken: Number(r.fencing_token), state: r.state })),
    openJobs: async () => Number((await rows<{ n: string }>(pool, "SELECT count(*) AS n FROM training_jobs WHERE state IN ('queued', 'running')"))[0]?.n ?? 0),
    decisions: async () => {
      const experiments: ExperimentRow[] = (await rows<{ id: string; model: string; state: string; champion_version: string; challenger_version: string; applied_at: Date | null }>(pool,
        'SELECT id::text, model, state, champion_version, challenger_version, applied_at FROM ab_experiments'))
        .map((r) => ({ id: r.id, model: r.model, state: r.state, champion: r.champion_version, challenger: r.challenger_version, appliedAt: r.applied_at }));
      const routing: RoutingRow[] = (await rows<{ model: string; routing: unknown }>(pool, 'SELECT model, routing FROM ab_routing')).map((r) => {
        const t = RoutingTable.safeParse(r.routing);
        return t.success ? { model: r.model, champion: t.data.champion, challenger: t.data.challenger, experimentId: t.data.experimentId } : { model: r.model };
      });
      const champions = new Map((await rows<{ model: string; version: string }>(pool, "SELECT model, version FROM registry_versions WHERE status = 'champion'")).map((r) => [r.model, r.version]));
      const serving: RoutingRow[] = [];
      for (const model of champions.keys()) {
        const v = ServingView.parse(await w.stack.api.serving.model(model));
        serving.push({ model, champion: v.champion?.version, challenger: v.challenger?.version });
      }
      return { experiments, routing, serving, champions };
    },
    versions: async () => {
      const out = [];
      for (const r of await rows<{ model: string; version: string; artifact: unknown }>(pool, 'SELECT model, version, artifact FROM registry_versions')) {
        const a = ArtifactRef.safeParse(r.artifact);
        const manifestKey = a.success ? a.data.manifestKey : '(unreadable artifact ref)';
        out.push({ model: r.model, version: r.version, manifestKey, manifestExists: a.success && (await store.exists(manifestKey)) });
      }
      return out;
    },
    lags: async () => {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix) && !t.endsWith('.dlq'));
      const ends = new Map<string, Map<number, { low: number; high: number }>>();
      for (const t of topics) ends.set(t, new Map((await admin.fetchTopicOffsets(t)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }])));
      const out: PartitionLag[] = [];
      for (const g of GROUPS) {
        const groupId = `${prefix}${g}`;
        for (const t of await admin.fetchOffsets({ groupId, topics })) {
          // A group that committed nothing on a topic does not read it; one that did owes every partition.
          if (!t.partitions.some((p) => Number(p.offset) >= 0)) continue;
          for (const p of t.partitions) {
            const end = ends.get(t.topic)?.get(p.partition);
            if (!end) continue;
            const committed = Math.max(Number(p.offset), end.low);
            out.push({ group: g, topic: t.topic.slice(prefix.length), partition: p.partition, lag: Math.max(0, end.high - committed) });
          }
        }
      }
      return out;
    },
    close: async () => { await admin.disconnect(); },
  };
};
