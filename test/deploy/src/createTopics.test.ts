// k8s/base/setup/create-topics.sh (compose kafka-init and the k8s Job) run against stand-ins for the
// Kafka CLI that record their arguments: the durability settings it passes, without a broker.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath } from './repo.js';

const bin = mkdtempSync(join(tmpdir(), 'create-topics-'));
const log = join(bin, 'calls.log');
for (const tool of ['kafka-topics.sh', 'kafka-configs.sh']) {
  writeFileSync(join(bin, tool), `#!/usr/bin/env bash\necho "${tool} $*" >> "${log}"\n`);
  chmodSync(join(bin, tool), 0o755);
}
afterAll(() => rmSync(bin, { recursive: true, force: true }));

const run = (env: Record<string, string>): { calls: string[]; out: string } => {
  writeFileSync(log, '');
  const out = execFileSync('bash', [repoPath('k8s/base/setup/create-topics.sh')], { env: { PATH: process.env.PATH ?? '', KAFKA_BIN: bin, KAFKA_BROKERS: 'k1:9092,k2:9092,k3:9092', ...env }, encoding: 'utf8' });
  return { calls: readFileSync(log, 'utf8').split('\n').filter((l) => l !== '' && !l.includes('--list')), out };
};

describe('create-topics.sh', () => {
  it('creates every topic and its .dlq with replication 3 and min.insync.replicas 2 by default at replication 3, and sets it on existing topics too', () => {
    const { calls, out } = run({ KAFKA_REPLICATION_FACTOR: '3', TOPIC_PREFIX: 'p-' });
    const creates = calls.filter((c) => c.includes('--create'));
    expect(creates).toHaveLength(12);
    for (const c of creates) expect(c).toMatch(/--replication-factor 3 --config min\.insync\.replicas=2$/);
    expect(creates.some((c) => c.includes('--topic p-model-updates.dlq '))).toBe(true);
    const alters = calls.filter((c) => c.startsWith('kafka-configs.sh'));
    expect(alters).toHaveLength(12);
    for (const a of alters) expect(a).toMatch(/--alter --entity-type topics --entity-name p-\S+ --add-config min\.insync\.replicas=2$/);
    expect(out).toMatch(/replication 3, min\.insync\.replicas 2/);
  });

  it('defaults to min.insync.replicas 1 on one broker, takes KAFKA_MIN_INSYNC_REPLICAS, and refuses one above the replication', () => {
    expect(run({}).calls.filter((c) => c.includes('--create')).every((c) => c.endsWith('--replication-factor 1 --config min.insync.replicas=1'))).toBe(true);
    expect(run({ KAFKA_REPLICATION_FACTOR: '5', KAFKA_MIN_INSYNC_REPLICAS: '3' }).calls.filter((c) => c.includes('--create')).every((c) => c.endsWith('min.insync.replicas=3'))).toBe(true);
    expect(() => run({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '4' })).toThrow(/must be between 1 and KAFKA_REPLICATION_FACTOR=3/);
  });
});
