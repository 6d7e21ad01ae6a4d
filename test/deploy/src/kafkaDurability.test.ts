// Issue 13, part 5: the compose stack and the k8s config replicate topics 3 ways with
// min.insync.replicas=2 (producers use acks=-1: see packages/bus).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoPath } from './repo.js';

type Svc = { environment?: Record<string, unknown>; depends_on?: Record<string, unknown>; ports?: string[]; volumes?: string[] };
const compose = parse(readFileSync(repoPath('deploy/compose/compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Svc> };
/** What `${NAME:-default}` gives when .env does not set NAME. */
const byDefault = (v: unknown): string => String(v).replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1');

describe('Kafka durability settings', () => {
  it('compose runs three KRaft brokers of one cluster, each a voter, with replicated internal topics', () => {
    const brokers = ['kafka', 'kafka-2', 'kafka-3'].map((n) => ({ name: n, env: compose.services[n]?.environment ?? {}, svc: compose.services[n] }));
    expect(brokers.map((b) => b.env.KAFKA_NODE_ID)).toEqual([1, 2, 3]);
    for (const b of brokers) {
      expect(b.env.KAFKA_PROCESS_ROLES, b.name).toBe('broker,controller');
      expect(b.env.KAFKA_CONTROLLER_QUORUM_VOTERS, b.name).toBe('1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093');
      expect(b.env.CLUSTER_ID, b.name).toBe(brokers[0]!.env.CLUSTER_ID);
      expect(b.env.KAFKA_MIN_INSYNC_REPLICAS, b.name).toBe(2);
      expect(b.env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, b.name).toBe(3);
      expect(String(b.env.KAFKA_ADVERTISED_LISTENERS), b.name).toContain(`PLAINTEXT://${b.name}:9092`);
    }
    expect(new Set(brokers.map((b) => b.svc?.volumes?.[0]?.split(':')[0])).size).toBe(3); // a log dir each
    expect(new Set(brokers.map((b) => b.svc?.ports?.[0])).size).toBe(3);
  });

  it('compose creates topics with replication 3 and min.insync.replicas 2, and every service knows all three brokers', () => {
    const init = compose.services['kafka-init']!;
    expect(byDefault(init.environment?.KAFKA_REPLICATION_FACTOR)).toBe('3');
    expect(byDefault(init.environment?.KAFKA_MIN_INSYNC_REPLICAS)).toBe('2');
    expect(Object.keys(init.depends_on ?? {})).toEqual(['kafka', 'kafka-2', 'kafka-3']);
    for (const svc of ['serving', 'feedback-ingest', 'aggregator', 'drift-monitor', 'trainer', 'ab-router']) {
      expect(compose.services[svc]?.environment?.KAFKA_BROKERS, svc).toBe('kafka:9092,kafka-2:9092,kafka-3:9092');
    }
  });

  it('k8s base and prod ask for replication 3 and min.insync.replicas 2; dev (one broker) for 1 and 1', () => {
    const base = readFileSync(repoPath('k8s/base/config.env'), 'utf8');
    expect(base).toMatch(/^KAFKA_REPLICATION_FACTOR=3$/m);
    expect(base).toMatch(/^KAFKA_MIN_INSYNC_REPLICAS=2$/m);
    const prod = readFileSync(repoPath('k8s/overlays/prod/kustomization.yaml'), 'utf8');
    expect(prod).toMatch(/- KAFKA_REPLICATION_FACTOR=3\n\s+- KAFKA_MIN_INSYNC_REPLICAS=2/);
    const dev = readFileSync(repoPath('k8s/overlays/dev/kustomization.yaml'), 'utf8');
    expect(dev).toMatch(/- KAFKA_REPLICATION_FACTOR=1\n\s+- KAFKA_MIN_INSYNC_REPLICAS=1/);
  });
});
