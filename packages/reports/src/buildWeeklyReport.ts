import type { ConfusedPair, DailyAccuracy, ModelChange, ReportExperiment, ReportWindow, SourceStatus, WaitingLabel, WeeklyReport } from './WeeklyReport.js';

/** A source's answer: its data, or why there is none (the report is still written, the section says why). */
export type Sourced<T> = { ok: true; value: T } | { ok: false; note: string };

/** A drift window as recorded (a `drift-reports` event's data, with the accuracies it may carry). */
export interface WindowInput {
  modelVersion: string;
  windowStart: string;
  windowEnd: string;
  predictions: number;
  labelled: number;
  level: 'none' | 'warn' | 'significant';
  triggeredRetraining: boolean;
  measurements: { feature: string; test: string; effectSize: number; level: string }[];
  realisedAccuracy?: number | undefined;
  estimatedAccuracy?: number | undefined;
}

/** One registry status move (PgRegistry.history). */
export interface HistoryInput { at: Date; version: string; fromStatus: string | null; toStatus: string; actor: string; reason: string }

/** An experiment as the ab-router's admin API lists it (the fields the report reads). */
export interface ExperimentInput {
  id: string; championVersion: string; challengerVersion: string; state: string; startedAt: string; decidedAt: string | null;
  decision?: unknown;
  preview?: { decision?: string } | undefined;
  totals?: { champion: { n: number; successes: number }; challenger: { n: number; successes: number } } | undefined;
}

/** A label as feedback-ingest's label route lists it. */
export interface LabelInput { label: string; reports: number; pendingItems: number; firstSeen: string; acceptedAt: string | null }

export interface WeeklyReportInputs {
  model: string;
  from: Date;
  to: Date;
  generatedAt: Date;
  isoWeek?: string | undefined;
  windows: Sourced<WindowInput[]>;
  /** Feedback outcomes per UTC day (`YYYY-MM-DD`). */
  outcomes: Sourced<{ day: string; n: number; correct: number }[]>;
  confusions: Sourced<ConfusedPair[]>;
  history: Sourced<HistoryInput[]>;
  experiments: Sourced<ExperimentInput[]>;
  labels: Sourced<LabelInput[]>;
}

/** Most confused pairs a report lists. */
export const MAX_CONFUSED_PAIRS = 10;

const status = (s: Sourced<unknown>): SourceStatus => (s.ok ? { ok: true } : { ok: false, note: s.note });
const valueOf = <T>(s: Sourced<T[]>): T[] => (s.ok ? s.value : []);
const inPeriod = (at: number, from: Date, to: Date): boolean => at >= from.getTime() && at < to.getTime();
const DAY_MS = 86_400_000;
/** A UTC day belongs to the period when they overlap: a report for "the last 7 days" made at 00:10 keeps today's verdicts. */
const dayInPeriod = (day: string, from: Date, to: Date): boolean => {
  const start = Date.parse(`${day}T00:00:00Z`);
  return start < to.getTime() && start + DAY_MS > from.getTime();
};
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** What the experiment decided (promote/reject for a finished one), else what its rule would decide now. */
const decisionOf = (e: ExperimentInput): string | null => {
  const d = e.decision;
  if (d && typeof d === 'object' && 'decision' in d && typeof (d as { decision: unknown }).decision === 'string') return (d as { decision: string }).decision;
  if (e.state === 'promoted') return 'promote';
  if (e.state === 'rejected') return 'reject';
  return e.preview?.decision ?? null;
};

const armDetail = (e: ExperimentInput): string => {
  if (!e.totals) return '';
  const arm = (name: string, a: { n: number; successes: number }) => `${name} ${a.n > 0 ? pct(a.successes / a.n) : '–'} (n=${a.n})`;
  return `${arm('champion', e.totals.champion)} · ${arm('challenger', e.totals.challenger)}`;
};

const toWindow = (w: WindowInput): ReportWindow => {
  const effects: Record<string, number> = {};
  for (const m of w.measurements) effects[m.test] = Math.max(effects[m.test] ?? 0, m.effectSize);
  return {
    modelVersion: w.modelVersion, windowStart: w.windowStart, windowEnd: w.windowEnd, predictions: w.predictions, labelled: w.labelled,
    level: w.level, triggeredRetraining: w.triggeredRetraining,
    realisedAccuracy: w.realisedAccuracy ?? null, estimatedAccuracy: w.estimatedAccuracy ?? null, effects,
    findings: w.measurements.filter((m) => m.level !== 'none').map((m) => `${m.feature} ${m.test}=${m.effectSize.toFixed(3)} (${m.level})`),
  };
};

/**
 * The weekly report of one model from what its sources returned, limited to [from, to): windows that
 * ended in it, daily realised accuracy, experiments that ran in it, champion changes, the most
 * confused label pairs and the labels waiting for acceptance. Pure: the caller gathers the inputs.
 */
export const buildWeeklyReport = (i: WeeklyReportInputs): WeeklyReport => {
  const windows = valueOf(i.windows)
    .filter((w) => inPeriod(Date.parse(w.windowEnd), i.from, i.to))
    .sort((a, b) => Date.parse(a.windowEnd) - Date.parse(b.windowEnd))
    .map(toWindow);
  const realisedDaily: DailyAccuracy[] = valueOf(i.outcomes)
    .filter((d) => d.n > 0 && dayInPeriod(d.day, i.from, i.to))
    .sort((a, b) => a.day.localeCompare(b.day))
    .map((d) => ({ day: d.day, n: d.n, correct: d.correct, accuracy: d.correct / d.n }));
  const experiments: ReportExperiment[] = valueOf(i.experiments)
    .filter((e) => Date.parse(e.startedAt) < i.to.getTime() && (e.decidedAt === null || Date.parse(e.decidedAt) >= i.from.getTime()))
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))
    .map((e) => ({
      id: e.id, championVersion: e.championVersion, challengerVersion: e.challengerVersion, state: e.state, startedAt: e.startedAt, decidedAt: e.decidedAt,
      decision: decisionOf(e), detail: armDetail(e),
    }));
  const modelChanges: ModelChange[] = valueOf(i.history)
    .filter((h) => inPeriod(h.at.getTime(), i.from, i.to) && (h.toStatus === 'champion' || h.toStatus === 'rolled_back'))
    .map((h) => h.toStatus === 'champion'
      ? { at: h.at.toISOString(), action: 'promoted' as const, version: h.version, actor: h.actor, reason: h.reason }
      : { at: h.at.toISOString(), action: 'rolled_back' as const, version: h.version, actor: h.actor, reason: h.reason });
  const confusedPairs = [...valueOf(i.confusions)]
    .filter((p) => p.predicted !== p.corrected)
    .sort((a, b) => b.count - a.count || a.predicted.localeCompare(b.predicted) || a.corrected.localeCompare(b.corrected))
    .slice(0, MAX_CONFUSED_PAIRS);
  const waitingLabels: WaitingLabel[] = valueOf(i.labels)
    .filter((l) => l.acceptedAt === null)
    .sort((a, b) => b.reports - a.reports || a.label.localeCompare(b.label))
    .map((l) => ({ label: l.label, reports: l.reports, pendingItems: l.pendingItems, firstSeen: l.firstSeen }));
  return {
    model: i.model,
    period: { from: i.from.toISOString(), to: i.to.toISOString(), ...(i.isoWeek ? { isoWeek: i.isoWeek } : {}) },
    generatedAt: i.generatedAt.toISOString(),
    accuracy: { realisedDaily, estimatedAvailable: windows.some((w) => w.estimatedAccuracy !== null) },
    windows, experiments, modelChanges, confusedPairs, waitingLabels,
    sources: { drift: status(i.windows), feedback: status(i.outcomes), registry: status(i.history), experiments: status(i.experiments), labels: status(i.labels) },
  };
};
