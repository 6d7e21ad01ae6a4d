import { createRng } from './prng.js';

/** What the nemesis can do; `faults` in the report counts each. */
export const FAULT_KINDS = ['kill', 'pauseBroker', 'restartPostgres', 'flushRedis', 'failpoint'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The failpoints of docs/FOUNDATION.md and the service whose process reaches each. */
export const FAILPOINTS: readonly { name: string; service: string }[] = [
  { name: 'outbox.relay.after-publish', service: 'feedback-ingest' },
  { name: 'outbox.relay.after-publish', service: 'aggregator' },
  { name: 'aggregator.after-ledger-write', service: 'aggregator' },
  { name: 'trainer.mid-training', service: 'trainer' },
  { name: 'trainer.before-upload', service: 'trainer' },
  { name: 'artifacts.mid-upload', service: 'trainer' },
  { name: 'serving.mid-swap', service: 'serving' },
  { name: 'ab-router.after-decision', service: 'ab-router' },
];

/** One fault of the plan: when (ms after the chaos phase began), what, and on what. */
export interface PlannedFault {
  atMs: number;
  kind: FaultKind;
  /** The service (kill, failpoint). */
  service?: string;
  /** The failpoint armed on `service`. */
  failpoint?: string;
  /** How long the broker stays frozen (pauseBroker). */
  holdMs?: number;
}

/**
 * The nemesis's schedule for `durationMs`, a pure function of the seed: one fault every 3-7 s,
 * kinds and targets drawn uniformly. A fault that takes longer than its gap delays the next one.
 */
export const planFaults = (seed: number, durationMs: number, services: readonly string[]): PlannedFault[] => {
  const rng = createRng(seed);
  const failpoints = FAILPOINTS.filter((f) => services.includes(f.service));
  const kinds = FAULT_KINDS.filter((k) => k !== 'failpoint' || failpoints.length > 0);
  const out: PlannedFault[] = [];
  for (let at = rng.int(2_000, 4_000); at < durationMs; at += rng.int(3_000, 7_000)) {
    const kind = rng.pick(kinds);
    if (kind === 'kill') out.push({ atMs: at, kind, service: rng.pick(services) });
    else if (kind === 'failpoint') {
      const f = rng.pick(failpoints);
      out.push({ atMs: at, kind, service: f.service, failpoint: f.name });
    } else if (kind === 'pauseBroker') out.push({ atMs: at, kind, holdMs: rng.int(2_000, 5_000) });
    else out.push({ atMs: at, kind });
  }
  return out;
};

/** Faults per kind, every kind present (0 when none). */
export const countByKind = (faults: readonly { kind: FaultKind }[]): Record<FaultKind, number> => {
  const out = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const f of faults) out[f.kind] += 1;
  return out;
};
