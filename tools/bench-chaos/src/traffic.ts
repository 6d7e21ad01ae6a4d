import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PredictAnswer } from '@flywheel/local-stack';
import { LABELS, mixedTextOf, textOf } from './corpus.js';
import { createRng } from './prng.js';
import type { ChaosWorld, TrafficClient } from './world.js';

/** What the clients sent and what came back. */
export interface TrafficStats {
  predictions: number;
  predictErrors: number;
  feedbackRequests: number;
  /** Items of 202 answers: the ids that must each reach the ledger exactly once. */
  feedbackAccepted: number;
  /** Requests repeated with the same Idempotency-Key after no answer or a 5xx/429. */
  feedbackRetries: number;
  /** Items whose request never got a 202 before the retry deadline (not counted as lost: never acknowledged). */
  feedbackUnconfirmed: number;
  /** Items refused with a 4xx (a bench bug or a rule; logged). */
  feedbackRejected: number;
  corrections: number;
}

export interface Traffic {
  readonly stats: TrafficStats;
  /** Every feedback id feedback-ingest acknowledged with a 202. */
  readonly acceptedIds: Set<string>;
  /** Stops sending new work and waits until every in-flight feedback request got its answer (or gave up). */
  stop(): Promise<void>;
}

const Predictions = z.object({ predictions: z.array(PredictAnswer) });
const Accepted = z.object({ items: z.array(z.object({ feedbackId: z.string().uuid() })) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const post = async (url: string, key: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> => {
  try {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    return { status: 0, text: err instanceof Error ? err.message : String(err) };
  }
};

/**
 * Drives every client in a loop: a small predict batch, then that client's feedback on each answer
 * (reviewers: confirmations and corrections of mixed texts; users: thumbs up/down, the A/B
 * outcomes). Feedback carries an Idempotency-Key and is retried with it until a 202, the way a
 * careful client would, so a 202 is the service's promise that the item is kept.
 */
export const startTraffic = (w: ChaosWorld, o: { seed: number; log: (line: string) => void; retryForMs?: number }): Traffic => {
  const stats: TrafficStats = { predictions: 0, predictErrors: 0, feedbackRequests: 0, feedbackAccepted: 0, feedbackRetries: 0, feedbackUnconfirmed: 0, feedbackRejected: 0, corrections: 0 };
  const acceptedIds = new Set<string>();
  let stopping = false;
  let giveUpAt = Infinity;
  let serial = 0;
  const serving = w.stack.url('serving');
  const ingest = w.stack.url('feedback-ingest');

  const submit = async (c: TrafficClient, items: unknown[]): Promise<void> => {
    const key = randomUUID();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) stats.feedbackRetries++;
      stats.feedbackRequests++;
      const r = await post(`${ingest}/v1/feedback/batch`, c.key, { items }, { 'idempotency-key': key });
      if (r.status === 202) {
        const ids = Accepted.parse(JSON.parse(r.text)).items.map((i) => i.feedbackId);
        for (const id of ids) acceptedIds.add(id);
        stats.feedbackAccepted += ids.length;
        return;
      }
      if (r.status !== 0 && r.status !== 429 && r.status < 500) {
        stats.feedbackRejected += items.length;
        o.log(`feedback of ${c.name} refused with ${r.status}: ${r.text.slice(0, 200)}`);
        return;
      }
      if (Date.now() > giveUpAt) {
        stats.feedbackUnconfirmed += items.length;
        return;
      }
      await sleep(500);
    }
  };

  const clientLoop = async (c: TrafficClient, index: number): Promise<void> => {
    const rng = createRng(o.seed * 31 + index);
    while (!stopping) {
      const rows = Array.from({ length: 4 }, () => {
        const label = rng.pick(LABELS);
        const row = c.style === 'label' && rng.chance(0.5) ? mixedTextOf(rng, label, serial++) : textOf(rng, label, serial++);
        return { ...row, subjectId: `subject-${rng.int(0, 999)}` };
      });
      const r = await post(`${serving}/v1/models/${w.model}/predict:batch`, c.key, { items: rows.map((x) => ({ text: x.text, subjectId: x.subjectId })) });
      const parsed = r.status === 200 ? Predictions.safeParse(JSON.parse(r.text)) : undefined;
      if (!parsed?.success) {
        stats.predictErrors++;
        await sleep(300);
        continue;
      }
      stats.predictions += parsed.data.predictions.length;
      const items = parsed.data.predictions.map((a, i) => {
        const truth = rows[i] as (typeof rows)[number];
        const correct = a.label === truth.label;
        const base = { model: w.model, text: truth.text, predictionId: a.predictionId, modelVersion: a.modelVersion, variant: a.variant, predictedLabel: a.label, reporter: truth.subjectId };
        if (c.style === 'thumbs') return { ...base, kind: correct ? 'thumbs_up' : 'thumbs_down' };
        if (correct) return { ...base, kind: 'confirmation' };
        stats.corrections++;
        return { ...base, kind: 'misclassification', correctLabel: truth.label };
      });
      await submit(c, items);
      await sleep(rng.int(300, 700));
    }
  };

  const loops = w.clients.map((c, i) => clientLoop(c, i));
  return {
    stats,
    acceptedIds,
    stop: async () => {
      stopping = true;
      giveUpAt = Date.now() + (o.retryForMs ?? 90_000);
      await Promise.all(loops);
    },
  };
};
