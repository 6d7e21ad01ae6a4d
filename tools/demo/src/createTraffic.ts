import type { FeedbackItemInput, StackApi } from '@flywheel/local-stack';
import type { LabelledText } from './scenarioData.js';
import { seededRandom } from './scenarioData.js';

/** One answered prediction as the simulation saw it (ground truth included). */
export interface Observation {
  t: number;
  version: string;
  variant: 'champion' | 'challenger';
  isNew: boolean;
  correct: boolean;
  reported: 'confirmation' | 'misclassification' | 'none';
}

/** The traffic mix of a phase. */
export interface TrafficMix {
  /** Share of requests from the new category (0..1). */
  newShare: number;
  /** Requests per tick (one predict batch, then one feedback batch). */
  batch: number;
  /** Pause between ticks. */
  pauseMs: number;
}

export interface Traffic {
  readonly observations: Observation[];
  /** Time (ms since t0) of the first misclassification reported while the new category was in the mix. */
  readonly firstShiftMisclassificationAt: number | undefined;
  /** One tick: a predict batch and the users' feedback on it. */
  tick(mix: TrafficMix): Promise<void>;
  /** Accuracy of the fixed evaluation set through serving (no feedback sent). */
  evaluate(rows: readonly LabelledText[]): Promise<{ accuracy: number; versions: string[] }>;
  counts(): { predictions: number; confirmations: number; misclassifications: number };
}

/**
 * Simulated users: each request comes from one of `users` sticky subjects; a user confirms a
 * correct answer with probability `confirmRate` and reports a wrong one with its true label with
 * probability `reportRate`.
 */
export const createTraffic = (deps: {
  api: StackApi; model: string; t0: number;
  oldPool: readonly LabelledText[]; newPool: readonly LabelledText[];
  users: number; confirmRate: number; reportRate: number; seed: number;
}): Traffic => {
  const rnd = seededRandom(deps.seed);
  const observations: Observation[] = [];
  let firstShift: number | undefined;
  let oi = 0;
  let ni = 0;
  const c = { predictions: 0, confirmations: 0, misclassifications: 0 };
  const pick = (pool: readonly LabelledText[], i: number): LabelledText => pool[i % pool.length] as LabelledText;

  return {
    observations,
    get firstShiftMisclassificationAt() {
      return firstShift;
    },
    async tick(mix) {
      const rows: { row: LabelledText; isNew: boolean; subjectId: string }[] = [];
      for (let i = 0; i < mix.batch; i++) {
        const isNew = deps.newPool.length > 0 && rnd() < mix.newShare;
        const row = isNew ? pick(deps.newPool, ni++) : pick(deps.oldPool, oi++);
        rows.push({ row, isNew, subjectId: `user-${Math.floor(rnd() * deps.users)}` });
      }
      const answers = await deps.api.serving.predictBatch(deps.model, rows.map((r) => ({ text: r.row.text, subjectId: r.subjectId })));
      const feedback: FeedbackItemInput[] = [];
      const t = Date.now() - deps.t0;
      answers.forEach((a, i) => {
        const r = rows[i];
        if (!r) return;
        const correct = a.label === r.row.label;
        let reported: Observation['reported'] = 'none';
        const base = { model: deps.model, text: r.row.text, predictionId: a.predictionId, modelVersion: a.modelVersion, variant: a.variant, predictedLabel: a.label, reporter: r.subjectId };
        if (correct && rnd() < deps.confirmRate) {
          feedback.push({ ...base, kind: 'confirmation' });
          reported = 'confirmation';
        } else if (!correct && rnd() < deps.reportRate) {
          feedback.push({ ...base, kind: 'misclassification', correctLabel: r.row.label });
          reported = 'misclassification';
          if (mix.newShare > 0 && firstShift === undefined) firstShift = t;
        }
        observations.push({ t, version: a.modelVersion, variant: a.variant, isNew: r.isNew, correct, reported });
      });
      c.predictions += answers.length;
      c.confirmations += feedback.filter((f) => f.kind === 'confirmation').length;
      c.misclassifications += feedback.filter((f) => f.kind === 'misclassification').length;
      if (feedback.length > 0) await deps.api.ingest.feedbackBatch(feedback);
      if (mix.pauseMs > 0) await new Promise((r) => setTimeout(r, mix.pauseMs));
    },
    async evaluate(rows) {
      let right = 0;
      const versions = new Set<string>();
      for (let i = 0; i < rows.length; i += 128) {
        const chunk = rows.slice(i, i + 128);
        const answers = await deps.api.serving.predictBatch(deps.model, chunk.map((r, j) => ({ text: r.text, subjectId: `eval-${i + j}` })));
        answers.forEach((a, j) => {
          versions.add(a.modelVersion);
          if (a.label === chunk[j]?.label) right++;
        });
      }
      return { accuracy: rows.length === 0 ? 0 : right / rows.length, versions: [...versions] };
    },
    counts: () => ({ ...c }),
  };
};
