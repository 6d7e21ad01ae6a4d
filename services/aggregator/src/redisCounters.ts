import type { Redis } from '@flywheel/redis';

/** One model's counters as the aggregator last computed them from its ledger. */
export interface CounterSnapshot {
  /** Ledger version of the model; a snapshot never replaces a newer one. */
  version: number;
  pendingCorrections: number;
  pendingFeedback: number;
  windowTotal: number;
  windowCorrect: number;
  /** Pending feedback per label it teaches (corrections and confirmations). */
  labels: Record<string, number>;
}

/** Where counters are kept for readers (dashboards, other tools); rebuilt from PostgreSQL when lost. */
export interface Counters {
  write(model: string, s: CounterSnapshot): Promise<void>;
  read(model: string): Promise<CounterSnapshot | undefined>;
  /** False after Redis was flushed or lost: every model must be rebuilt. */
  isBuilt(): Promise<boolean>;
  markBuilt(): Promise<void>;
}

// Replaces the hash only when the snapshot is at least as new as the stored one, so
// snapshots written by several instances out of order settle on the newest.
const WRITE = `
local cur = redis.call('HGET', KEYS[1], 'version')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1`;

/** Counters in Redis: one hash per model (`<prefix>:agg:model:<model>`), label counts as `label:<name>` fields. */
export class RedisCounters implements Counters {
  constructor(private readonly redis: Redis, private readonly prefix = 'flywheel') {}
  private key(model: string): string {
    return `${this.prefix}:agg:model:${model}`;
  }
  private get builtKey(): string {
    return `${this.prefix}:agg:built`;
  }
  async write(model: string, s: CounterSnapshot): Promise<void> {
    const fields: (string | number)[] = ['version', s.version, 'pendingCorrections', s.pendingCorrections, 'pendingFeedback', s.pendingFeedback, 'windowTotal', s.windowTotal, 'windowCorrect', s.windowCorrect];
    for (const [label, n] of Object.entries(s.labels)) fields.push(`label:${label}`, n);
    await this.redis.eval(WRITE, 1, this.key(model), String(s.version), ...fields.map(String));
  }
  async read(model: string): Promise<CounterSnapshot | undefined> {
    const h = await this.redis.hgetall(this.key(model));
    if (!h.version) return undefined;
    const n = (k: string): number => {
      const v = Number(h[k] ?? 0);
      return Number.isFinite(v) ? v : 0;
    };
    const labels: Record<string, number> = {};
    for (const k of Object.keys(h)) if (k.startsWith('label:')) labels[k.slice(6)] = n(k);
    return { version: n('version'), pendingCorrections: n('pendingCorrections'), pendingFeedback: n('pendingFeedback'), windowTotal: n('windowTotal'), windowCorrect: n('windowCorrect'), labels };
  }
  async isBuilt(): Promise<boolean> {
    return (await this.redis.exists(this.builtKey)) === 1;
  }
  async markBuilt(): Promise<void> {
    await this.redis.set(this.builtKey, new Date().toISOString());
  }
}
