import type { DriftMeasurement } from '@flywheel/contracts';
import {
  compareAccuracy,
  compareCategories,
  compareCounts,
  compareNumeric,
  driftVerdict,
  numericReference,
  type ArmCounts,
  type DriftLevel,
  type DriftSignal,
  type DriftThresholds,
  type NumericReference,
} from '@flywheel/stats';
import { oovRate, tokenBucket, tokenize } from './textFeatures.js';

/** What the monitor keeps of one prediction. */
export interface Observation {
  text: string;
  label: string;
  confidence: number;
  /** Serving's own OOV rate against the training vocabulary, when it reports one. */
  servingOovRate?: number | undefined;
}

/** Counters of labelled outcomes (mutable while a window is open). */
export interface Outcomes {
  n: number;
  successes: number;
}

/** A version's reference distributions, fixed once built. */
export interface Reference {
  size: number;
  vocabulary: ReadonlySet<string>;
  textLength: NumericReference;
  oovRate: NumericReference;
  confidence: NumericReference;
  servingOovRate: NumericReference | undefined;
  tokenBuckets: number[];
  labels: Map<string, number>;
  outcomes: Outcomes;
}

const VOCABULARY_CAP = 200_000;

/**
 * Collects the first predictions of a version into its reference. The vocabulary comes from the
 * first half and the reference OOV distribution from the second half measured against it, so the
 * reference OOV rate is not 0 by construction (which would flag every window).
 */
export class ReferenceBuilder {
  private readonly observations: Observation[] = [];
  readonly outcomes: Outcomes = { n: 0, successes: 0 };
  constructor(readonly target: number, private readonly buckets: number) {}

  get size(): number {
    return this.observations.length;
  }

  add(o: Observation): void {
    this.observations.push(o);
  }

  get full(): boolean {
    return this.observations.length >= this.target;
  }

  build(): Reference {
    const half = Math.max(1, Math.floor(this.observations.length / 2));
    const vocabulary = new Set<string>();
    const tokens = this.observations.map((o) => tokenize(o.text));
    for (const t of tokens.slice(0, half)) for (const w of t) if (vocabulary.size < VOCABULARY_CAP) vocabulary.add(w);
    const tokenBuckets = new Array<number>(this.buckets).fill(0);
    const labels = new Map<string, number>();
    for (let i = 0; i < this.observations.length; i++) {
      for (const w of tokens[i] ?? []) tokenBuckets[tokenBucket(w, this.buckets)]! += 1;
      const label = this.observations[i]!.label;
      labels.set(label, (labels.get(label) ?? 0) + 1);
    }
    const secondHalf = tokens.slice(half);
    const serving = this.observations.map((o) => o.servingOovRate).filter((x): x is number => x !== undefined);
    return {
      size: this.observations.length,
      vocabulary,
      textLength: numericReference(this.observations.map((o) => o.text.length)),
      oovRate: numericReference((secondHalf.length > 0 ? secondHalf : tokens).map((t) => oovRate(t, vocabulary))),
      confidence: numericReference(this.observations.map((o) => o.confidence)),
      servingOovRate: serving.length >= this.observations.length / 2 ? numericReference(serving) : undefined,
      tokenBuckets,
      labels,
      outcomes: this.outcomes,
    };
  }
}

/** The current window of one version, measured against its reference. */
export class CurrentWindow {
  readonly startedAt = new Date();
  readonly textLength: number[] = [];
  readonly oovRate: number[] = [];
  readonly confidence: number[] = [];
  readonly servingOovRate: number[] = [];
  readonly tokenBuckets: number[];
  readonly labels = new Map<string, number>();
  readonly outcomes: Outcomes = { n: 0, successes: 0 };

  constructor(private readonly reference: Reference) {
    this.tokenBuckets = new Array<number>(reference.tokenBuckets.length).fill(0);
  }

  get size(): number {
    return this.textLength.length;
  }

  add(o: Observation): void {
    const tokens = tokenize(o.text);
    this.textLength.push(o.text.length);
    this.oovRate.push(oovRate(tokens, this.reference.vocabulary));
    this.confidence.push(o.confidence);
    if (o.servingOovRate !== undefined) this.servingOovRate.push(o.servingOovRate);
    for (const w of tokens) this.tokenBuckets[tokenBucket(w, this.tokenBuckets.length)]! += 1;
    this.labels.set(o.label, (this.labels.get(o.label) ?? 0) + 1);
  }
}

/** The verdict over one window, in the contract's shape plus the reasons. */
export interface DriftAnalysis {
  level: DriftLevel;
  measurements: DriftMeasurement[];
  reasons: string[];
}

const statisticOf = (s: DriftSignal): number => {
  const r = s.result;
  switch (r.test) {
    case 'psi':
      return r.psi;
    case 'ks':
      return r.statistic;
    case 'chi_square':
      return r.statistic;
    case 'accuracy_drop':
      return r.drop;
  }
};

/**
 * Compares a window with its reference: PSI on hashed-token buckets, text length and OOV rate;
 * KS on the numeric features; chi-square (Cramér's V) on predicted labels; PSI/KS on confidence
 * (prediction drift); accuracy drop once both sides have `minLabelled` outcomes (concept drift).
 * Decisions come from the effect sizes (stats' driftVerdict); p-values are reported beside them.
 */
export const analyseWindow = (ref: Reference, win: CurrentWindow, opts: { thresholds?: Partial<DriftThresholds>; minLabelled: number }): DriftAnalysis => {
  const signals: DriftSignal[] = [
    ...compareCounts('hashed_tokens', ref.tokenBuckets, win.tokenBuckets).filter((s) => s.result.test === 'psi'),
    ...compareNumeric('text_length', ref.textLength, win.textLength),
    ...compareNumeric('oov_rate', ref.oovRate, win.oovRate),
    ...compareNumeric('confidence', ref.confidence, win.confidence),
    ...compareCategories('predicted_label', ref.labels, win.labels),
  ];
  if (ref.servingOovRate && win.servingOovRate.length >= win.size / 2) signals.push(...compareNumeric('serving_oov_rate', ref.servingOovRate, win.servingOovRate));
  if (ref.outcomes.n >= opts.minLabelled && win.outcomes.n >= opts.minLabelled) {
    signals.push(compareAccuracy('accuracy', ref.outcomes as ArmCounts, win.outcomes as ArmCounts));
  }
  const verdict = driftVerdict(signals, opts.thresholds ?? {});
  const measurements: DriftMeasurement[] = verdict.findings.map((f, i) => ({
    feature: f.feature,
    test: f.test,
    statistic: finite(statisticOf(signals[i]!)),
    pValue: Math.min(1, Math.max(0, Number.isFinite(f.pValue) ? f.pValue : 1)),
    effectSize: finite(f.effectSize),
    level: f.level,
  }));
  return { level: verdict.level, measurements, reasons: verdict.findings.filter((f) => f.level !== 'none').map((f) => `${f.feature}/${f.test}: ${f.reason}`) };
};

// JSON (and the contract) cannot carry Infinity/NaN; a huge finite number still reads as "off the scale".
const finite = (x: number): number => (Number.isFinite(x) ? x : Number.isNaN(x) ? 0 : Math.sign(x) * Number.MAX_VALUE);
