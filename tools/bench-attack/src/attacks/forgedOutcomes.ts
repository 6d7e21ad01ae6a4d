import { z } from 'zod';
import { send, statusSummary, type Reply } from '../http.js';
import type { AttackResult } from '../report.js';
import { waitFor } from '../waitFor.js';
import { servedState, servingView, someText, type AttackContext } from './context.js';

const Predictions = z.object({ predictions: z.array(z.object({ predictionId: z.string().uuid() }).passthrough()) });
export const FORGED_OUTCOMES = 1_000;

/**
 * 1,000 predictions are made for the trusted client; the standard client then sends a thumbs-down
 * for every one of them. None may count: not in the experiment's arms, not in the champion's health.
 */
export const forgedOutcomes = async (c: AttackContext): Promise<AttackResult> => {
  const { stack, model, keys, experimentId } = c.world;
  const ids: string[] = [];
  for (let b = 0; b < FORGED_OUTCOMES / 250; b++) {
    const items = Array.from({ length: 250 }, (_, i) => ({ text: someText(b * 250 + i), subjectId: `reviewer-subject-${b * 250 + i}` }));
    const r = await send(`${stack.url('serving')}/v1/models/${model}/predict:batch`, { key: keys.trusted, body: { items } });
    if (r.status !== 200) throw new Error(`the trusted client's predictions were refused (${r.status}): ${r.text.slice(0, 300)}`);
    ids.push(...Predictions.parse(JSON.parse(r.text)).predictions.map((p) => p.predictionId));
  }
  await waitFor(`the ab-router to log the trusted client's ${ids.length} predictions`, async () => ((await c.probe.outcomes(ids)).rows === ids.length ? true : undefined), { timeoutMs: 90_000 });
  const before = { exp: await c.probe.experiment(experimentId), marks: await c.probe.retrainingMarks(model), served: servedState(await servingView(c)) };

  c.log(`forged outcomes: ${ids.length} thumbs-down from the standard client for the trusted client's predictions…`);
  const replies: Reply[] = [];
  let accepted = 0;
  for (let i = 0; i < ids.length; i += 100) {
    const items = ids.slice(i, i + 100).map((predictionId) => ({ model, predictionId, kind: 'thumbs_down', text: 'this answer was wrong' }));
    const r = await send(`${stack.url('feedback-ingest')}/v1/feedback/batch`, { key: keys.standard, body: { items } });
    replies.push(r);
    if (r.status === 202) accepted += items.length;
  }
  // Every accepted report must have reached the ab-router before counting: only then is "not counted" a result.
  if (accepted > 0) {
    await waitFor(`the ab-router to receive the ${accepted} forged reports`, async () => ((await c.probe.outcomeReports(ids)) >= accepted ? true : undefined), { timeoutMs: 120_000 });
  }
  const after = { outcomes: await c.probe.outcomes(ids), exp: await c.probe.experiment(experimentId), marks: await c.probe.retrainingMarks(model), served: servedState(await servingView(c)) };
  const changed: string[] = [];
  if (after.exp?.state !== before.exp?.state) changed.push(`experiment ${before.exp?.state} → ${after.exp?.state}`);
  if (after.exp?.champion !== before.exp?.champion || after.exp?.challenger !== before.exp?.challenger) {
    changed.push(`arm outcomes ${before.exp?.champion}/${before.exp?.challenger} → ${after.exp?.champion}/${after.exp?.challenger}`);
  }
  if (after.marks.triggers !== before.marks.triggers || after.marks.jobs !== before.marks.jobs) changed.push(`retraining marks ${JSON.stringify(before.marks)} → ${JSON.stringify(after.marks)}`);
  if (after.served !== before.served) changed.push(`serving ${before.served} → ${after.served}`);
  return {
    attack: 'forged outcomes (1,000 thumbs-down for another client\'s predictions)',
    sent: FORGED_OUTCOMES,
    observed: `HTTP ${statusSummary(replies)}; ${accepted} reports reached the ab-router, ${after.outcomes.counted} counted${changed.length ? `; CHANGED: ${changed.join('; ')}` : '; experiment, health and retraining unchanged'}`,
    succeeded: after.outcomes.counted > 0 || changed.length > 0,
    forgedOutcomesCounted: after.outcomes.counted,
  };
};
