import { z } from 'zod';
import type { FeedbackItemInput, PredictAnswer, StackApi } from '@flywheel/local-stack';
import { seededRandom, type LabelledText } from './syntheticCorpus.js';

/** One prediction as the simulated users saw it (with the truth). */
export interface Observation {
  at: number;
  version: string;
  variant: 'champion' | 'challenger';
  isNew: boolean;
  correct: boolean;
}

/** The mix of one tick: how many requests, and the share from the new category. */
export interface Mix {
  batch: number;
  newShare: number;
  /**
   * label (default): users confirm a right answer and report a wrong one with its true label
   * (corrections, which count towards retraining); thumbs: thumbs up/down only (outcomes for the
   * A/B test and the health check, no corrections).
   */
  style?: 'label' | 'thumbs';
}

export interface Traffic {
  readonly observations: Observation[];
  /** Every feedback id feedback-ingest accepted (its 202 answers): what must never be lost. */
  readonly acceptedIds: Set<string>;
  /** A predict batch and the users' feedback on it: confirm a right answer, report a wrong one with the true label. */
  tick(mix: Mix): Promise<{ predictions: number; confirmations: number; misclassifications: number }>;
  /**
   * A tick only while the consumers keep up (fewer than `maxBacklog` accepted feedback events not
   * yet in the aggregator's ledger); otherwise nothing is sent this time. Traffic that waits for a
   * decision is a closed loop: on a slow machine an open one outruns the consumers, which slows the
   * decision, which sends more traffic, until the mock broker (about 5 MB per partition, and all of
   * a model's feedback is one partition) drops the oldest unread events.
   */
  pacedTick(mix: Mix): Promise<void>;
  /** Sends feedback items and records the accepted ids. */
  send(items: FeedbackItemInput[]): Promise<string[]>;
  accuracy(filter?: (o: Observation) => boolean): number;
}

const Accepted = z.object({ items: z.array(z.object({ feedbackId: z.string().uuid() })) });

/** Simulated users over `api` for `model`: sticky subjects, every answer gets feedback. */
export const createTraffic = (deps: {
  api: StackApi; model: string; oldPool: readonly LabelledText[]; newPool: readonly LabelledText[]; seed?: number;
  /** Accepted feedback events not yet consumed (see pacedTick). */
  backlog: () => Promise<number>;
  maxBacklog?: number;
}): Traffic => {
  const rnd = seededRandom(deps.seed ?? 11);
  const observations: Observation[] = [];
  const acceptedIds = new Set<string>();
  let oi = 0;
  let ni = 0;
  const send = async (items: FeedbackItemInput[]): Promise<string[]> => {
    if (items.length === 0) return [];
    const r = await deps.api.ingest.feedbackBatch(items);
    const ids = Accepted.parse(r).items.map((i) => i.feedbackId);
    for (const id of ids) acceptedIds.add(id);
    return ids;
  };
  const traffic: Traffic = {
    observations,
    acceptedIds,
    send,
    async pacedTick(mix) {
      if ((await deps.backlog()) < (deps.maxBacklog ?? 150)) await traffic.tick(mix);
    },
    async tick(mix) {
      const rows: { row: LabelledText; isNew: boolean; subjectId: string }[] = [];
      for (let i = 0; i < mix.batch; i++) {
        const isNew = rnd() < mix.newShare;
        const pool = isNew ? deps.newPool : deps.oldPool;
        const row = pool[(isNew ? ni++ : oi++) % pool.length] as LabelledText;
        rows.push({ row, isNew, subjectId: `user-${Math.floor(rnd() * 5000)}` });
      }
      const answers: PredictAnswer[] = await deps.api.serving.predictBatch(deps.model, rows.map((r) => ({ text: r.row.text, subjectId: r.subjectId })));
      const feedback: FeedbackItemInput[] = [];
      const counts = { predictions: answers.length, confirmations: 0, misclassifications: 0 };
      answers.forEach((a, i) => {
        const r = rows[i];
        if (!r) return;
        const correct = a.label === r.row.label;
        const base = { model: deps.model, text: r.row.text, predictionId: a.predictionId, modelVersion: a.modelVersion, variant: a.variant, predictedLabel: a.label, reporter: r.subjectId };
        if (mix.style === 'thumbs') {
          feedback.push({ ...base, kind: correct ? 'thumbs_up' : 'thumbs_down' });
        } else if (correct) {
          feedback.push({ ...base, kind: 'confirmation' });
          counts.confirmations++;
        } else {
          feedback.push({ ...base, kind: 'misclassification', correctLabel: r.row.label });
          counts.misclassifications++;
        }
        observations.push({ at: Date.now(), version: a.modelVersion, variant: a.variant, isNew: r.isNew, correct });
      });
      await send(feedback);
      return counts;
    },
    accuracy(filter) {
      const xs = filter ? observations.filter(filter) : observations;
      return xs.length === 0 ? 0 : xs.filter((o) => o.correct).length / xs.length;
    },
  };
  return traffic;
};
