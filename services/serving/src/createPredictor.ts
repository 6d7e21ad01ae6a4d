import { randomUUID } from 'node:crypto';
import type { Variant } from '@flywheel/contracts';
import { DependencyDown, NotFound } from '@flywheel/runtime';
import type { LoadFailure } from './ModelLoadFailures.js';
import { ModelUnavailable } from './ModelUnavailable.js';
import { routeVariant, type LoadedVersion, type ModelSnapshot } from './modelSnapshot.js';
import type { PredictionRecord } from './PredictionLog.js';
import type { ServingMetrics } from './servingMetrics.js';
import type { ShadowQueue } from './ShadowScorer.js';

/** One input row. `subjectId` makes the variant sticky (user, session, document). */
export interface PredictItem {
  text: string;
  subjectId?: string | undefined;
}

export interface LabelProbability {
  label: string;
  probability: number;
}

/** One answer, as the API returns it. */
export interface PredictionAnswer {
  predictionId: string;
  label: string;
  confidence: number;
  modelVersion: string;
  variant: Variant;
  topK?: LabelProbability[];
}

/** What the predictor needs from the model host. */
export interface SnapshotSource {
  snapshot(model: string): ModelSnapshot | undefined;
  knows(model: string): boolean;
  models(): string[];
  /** Why the model is not served, while its load keeps failing (it is retried). */
  loadFailure(model: string): LoadFailure | undefined;
}

/** Where answers go for the `predictions` topic; must not block (PredictionLog buffers). */
export interface PredictionRecorder {
  record(p: PredictionRecord): void;
}

export interface PredictorDeps {
  host: SnapshotSource;
  recorder: PredictionRecorder;
  metrics: ServingMetrics;
  /** top-k carried by the prediction event when the caller asked for fewer (drift and pseudo-labels use it). */
  eventTopK?: number;
  /** Where answers go to be scored again by a shadow version (routing.shadow), after they were sent. */
  shadow?: ShadowQueue;
}

/** Per request: how many top labels the answer carries, and the API client it goes to (logged with each prediction). */
export interface PredictOptions {
  topK?: number | undefined;
  client?: string | undefined;
}

/** Predicts a batch for a named model: routes each row, runs each variant's rows as one batch, logs every answer. */
export type Predictor = (model: string, items: readonly PredictItem[], opts?: PredictOptions) => Promise<PredictionAnswer[]>;

const topKOf = (probabilities: Float32Array, row: number, labels: readonly string[], k: number): LabelProbability[] => {
  const C = labels.length;
  const take = Math.min(k, C);
  const out: LabelProbability[] = [];
  // k is small (≤ 50): insertion into a sorted short list beats sorting all C columns.
  for (let c = 0; c < C; c++) {
    const p = probabilities[row * C + c] as number;
    if (out.length === take && p <= (out[take - 1] as LabelProbability).probability) continue;
    let i = out.length < take ? out.length : take - 1;
    while (i > 0 && (out[i - 1] as LabelProbability).probability < p) i--;
    out.splice(i, 0, { label: labels[c] as string, probability: p });
    if (out.length > take) out.pop();
  }
  return out;
};

/** Builds the predictor: the request path of serving, with no network call. */
export const createPredictor = (deps: PredictorDeps): Predictor => {
  const eventTopK = deps.eventTopK ?? 3;
  const m = deps.metrics;

  const runGroup = async (
    model: string,
    snapshot: ModelSnapshot,
    variant: Variant,
    loaded: LoadedVersion,
    items: readonly PredictItem[],
    rows: readonly number[],
    ids: readonly string[],
    out: PredictionAnswer[],
    logged: (PredictionRecord | undefined)[],
    opts: PredictOptions,
    started: number,
  ): Promise<void> => {
    const { topK, client } = opts;
    const texts = rows.map((r) => (items[r] as PredictItem).text);
    loaded.inFlight++;
    let scores;
    try {
      scores = await loaded.classifier.predictRaw(texts);
    } finally {
      loaded.inFlight--;
    }
    const latencyMs = performance.now() - started;
    const labels = loaded.labels;
    const keep = Math.max(topK ?? 0, eventTopK);
    // Stamped only when the split really ran: a table naming a challenger that is not loaded yet (an
    // encoder base takes seconds) answers everyone with the champion, and counting those answers would
    // make the ab-router halt the experiment for a sample ratio mismatch it did not cause.
    const experimentId = snapshot.challenger !== undefined && snapshot.routing.challengerShareBps > 0 ? snapshot.routing.experimentId : undefined;
    // One counter update per distinct label, not per row (label hashing is the costly part).
    const perLabel = new Map<string, number>();
    // With a shadow version the rows are logged by the shadow scorer once it has scored them (off the request path).
    const shadow = deps.shadow !== undefined && snapshot.shadow !== undefined && snapshot.shadow.version !== loaded.version ? snapshot.shadow : undefined;
    const records: PredictionRecord[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as number;
      const item = items[row] as PredictItem;
      const label = labels[scores.labelIndex[i] as number] as string;
      const confidence = scores.confidence[i] as number;
      const top = keep > 0 ? topKOf(scores.probabilities, i, labels, keep) : undefined;
      const answer: PredictionAnswer = { predictionId: ids[row] as string, label, confidence, modelVersion: loaded.version, variant };
      if (topK !== undefined && top !== undefined) answer.topK = top.slice(0, topK);
      out[row] = answer;
      perLabel.set(label, (perLabel.get(label) ?? 0) + 1);
      const record: PredictionRecord = {
        model,
        predictionId: answer.predictionId,
        modelVersion: loaded.version,
        variant,
        subjectId: item.subjectId,
        experimentId,
        client,
        text: item.text,
        label,
        confidence,
        topK: top?.slice(0, eventTopK),
        latencyMs,
        time: Date.now(),
      };
      if (shadow === undefined) logged[row] = record;
      else records.push(record);
    }
    if (shadow !== undefined) deps.shadow?.offer({ model, shadow, experimentId: snapshot.routing.shadowExperimentId, records });
    for (const [label, n] of perLabel) m.predictions.inc({ model, variant, label }, n);
    const seconds = latencyMs / 1000;
    m.requestDuration.observe({ model, variant }, seconds);
    m.requests.inc({ model, variant });
  };

  return async (model, items, opts = {}) => {
    const started = performance.now();
    // Captured once: every row of this request runs on the versions present now, whatever swaps follow.
    const snapshot = deps.host.snapshot(model);
    if (snapshot === undefined) {
      const failure = deps.host.loadFailure(model);
      if (failure !== undefined) throw new ModelUnavailable(failure);
      if (deps.host.knows(model)) throw new DependencyDown(`model "${model}" has no champion loaded yet; retry after one is promoted`, { reason: 'model_not_ready' });
      const known = deps.host.models();
      throw new NotFound(`model "${model}" is not served here; served models: ${known.length ? known.join(', ') : '(none)'}`);
    }
    const out = new Array<PredictionAnswer>(items.length);
    const logged = new Array<PredictionRecord | undefined>(items.length);
    const ids = items.map(() => randomUUID());
    if (items.length === 1) {
      const routed = routeVariant(snapshot, (items[0] as PredictItem).subjectId ?? (ids[0] as string));
      await runGroup(model, snapshot, routed.variant, routed.loaded, items, [0], ids, out, logged, opts, started);
      if (logged[0] !== undefined) deps.recorder.record(logged[0]);
      return out;
    }
    const champion: number[] = [];
    const challenger: number[] = [];
    let challengerLoaded: LoadedVersion | undefined;
    items.forEach((item, row) => {
      const routed = routeVariant(snapshot, item.subjectId ?? (ids[row] as string));
      if (routed.variant === 'challenger') {
        challenger.push(row);
        challengerLoaded = routed.loaded;
      } else {
        champion.push(row);
      }
    });
    const groups: Promise<void>[] = [];
    if (champion.length > 0) groups.push(runGroup(model, snapshot, 'champion', snapshot.champion, items, champion, ids, out, logged, opts, started));
    if (challengerLoaded !== undefined) groups.push(runGroup(model, snapshot, 'challenger', challengerLoaded, items, challenger, ids, out, logged, opts, started));
    await Promise.all(groups);
    // Logged in row order, not arm by arm: the ab-router counts arms while it consumes, and a
    // request's events read up to the middle must still be a fair sample of the split. Grouped by
    // arm, half a batch read was all one arm, and the sample-ratio check halted a sound experiment.
    for (const record of logged) if (record !== undefined) deps.recorder.record(record);
    return out;
  };
};
