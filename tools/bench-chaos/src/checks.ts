/**
 * The safety checks of a chaos run as pure functions over what the stores hold, so a unit test
 * can feed them a doctored ledger and see every kind of damage counted.
 */

/** One row of the aggregator's ledger, with the prediction its feedback was about (from the ingest's table). */
export interface LedgerRow { eventId: string; predictionId: string | null }

/**
 * lostFeedback: acknowledged ids missing from the ledger. duplicateFeedback: extra ledger rows of
 * one id, plus extra distinct ids for one prediction (every prediction of the traffic gets exactly
 * one feedback item, so a second id is a retried request that was stored twice).
 */
export const feedbackFindings = (acceptedIds: Iterable<string>, ledger: readonly LedgerRow[]): { lostFeedback: number; duplicateFeedback: number; missing: string[] } => {
  const perEvent = new Map<string, number>();
  const perPrediction = new Map<string, Set<string>>();
  for (const r of ledger) {
    perEvent.set(r.eventId, (perEvent.get(r.eventId) ?? 0) + 1);
    if (r.predictionId !== null) {
      const s = perPrediction.get(r.predictionId) ?? new Set<string>();
      s.add(r.eventId);
      perPrediction.set(r.predictionId, s);
    }
  }
  const missing = [...acceptedIds].filter((id) => !perEvent.has(id));
  let duplicateFeedback = 0;
  for (const n of perEvent.values()) duplicateFeedback += n - 1;
  for (const s of perPrediction.values()) duplicateFeedback += s.size - 1;
  return { lostFeedback: missing.length, duplicateFeedback, missing: missing.slice(0, 10) };
};

export interface JobRow { id: string; model: string; fencingToken: number; state: string }

/** A trigger (one fencing token of a model) that produced more than one succeeded job: the extra jobs. */
export const doubleJobs = (jobs: readonly JobRow[]): { doubleJobs: number; examples: string[] } => {
  const succeeded = new Map<string, string[]>();
  for (const j of jobs) {
    if (j.state !== 'succeeded') continue;
    const k = `${j.model}#${j.fencingToken}`;
    succeeded.set(k, [...(succeeded.get(k) ?? []), j.id]);
  }
  const doubles = [...succeeded].filter(([, ids]) => ids.length > 1);
  return { doubleJobs: doubles.reduce((n, [, ids]) => n + ids.length - 1, 0), examples: doubles.slice(0, 5).map(([k, ids]) => `${k}: ${ids.join(', ')}`) };
};

export interface PartitionLag { group: string; topic: string; partition: number; lag: number }

export const stuckPartitions = (lags: readonly PartitionLag[]): { stuckPartitions: number; examples: string[] } => {
  const stuck = lags.filter((l) => l.lag > 0);
  return { stuckPartitions: stuck.length, examples: stuck.slice(0, 10).map((l) => `${l.group} ${l.topic}[${l.partition}] lag ${l.lag}`) };
};

export interface ExperimentRow { id: string; model: string; state: string; champion: string; challenger: string; appliedAt: Date | null }
export interface RoutingRow { model: string; champion?: string | undefined; challenger?: string | undefined; experimentId?: string | undefined }
export interface DecisionState {
  experiments: readonly ExperimentRow[];
  /** ab_routing (the ab-router's source of truth), per model. */
  routing: readonly RoutingRow[];
  /** What serving routes, per model. */
  serving: readonly RoutingRow[];
  /** The registry's champion, per model. */
  champions: ReadonlyMap<string, string>;
}

/**
 * A running experiment whose challenger is not routed (in ab_routing and in serving); a decided
 * experiment not applied (applied_at unset after settling); a routed or served champion that is not
 * the registry's champion. Each is one inconsistency.
 */
export const inconsistentDecisions = (s: DecisionState): { inconsistentDecisions: number; examples: string[] } => {
  const out: string[] = [];
  const by = (rows: readonly RoutingRow[]) => new Map(rows.map((r) => [r.model, r]));
  const routing = by(s.routing);
  const serving = by(s.serving);
  for (const e of s.experiments) {
    if (e.state === 'running') {
      const r = routing.get(e.model);
      if (r?.challenger !== e.challenger || r.experimentId !== e.id) out.push(`experiment ${e.id} runs but ab_routing routes challenger ${r?.challenger ?? 'none'} (experiment ${r?.experimentId ?? 'none'})`);
      const v = serving.get(e.model);
      if (v?.challenger !== e.challenger) out.push(`experiment ${e.id} runs but serving routes challenger ${v?.challenger ?? 'none'}`);
    } else if (e.appliedAt === null) out.push(`experiment ${e.id} is ${e.state} but its decision was never applied`);
  }
  for (const [model, champion] of s.champions) {
    const r = routing.get(model);
    if (r !== undefined && r.champion !== champion) out.push(`${model}: registry champion ${champion}, ab_routing champion ${r.champion ?? 'none'}`);
    const v = serving.get(model);
    if (v !== undefined && v.champion !== champion) out.push(`${model}: registry champion ${champion}, serving champion ${v.champion ?? 'none'}`);
  }
  return { inconsistentDecisions: out.length, examples: out.slice(0, 10) };
};

/** Registered versions whose manifest is not in the object store. */
export const danglingVersions = (versions: readonly { model: string; version: string; manifestKey: string; manifestExists: boolean }[]): { danglingVersions: number; examples: string[] } => {
  const d = versions.filter((v) => !v.manifestExists);
  return { danglingVersions: d.length, examples: d.slice(0, 10).map((v) => `${v.model}@${v.version} (${v.manifestKey})`) };
};
