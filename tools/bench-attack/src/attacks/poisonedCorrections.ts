import { z } from 'zod';
import { send, statusSummary, type Reply } from '../http.js';
import type { AttackResult } from '../report.js';
import { waitFor } from '../waitFor.js';
import { servedState, servingView, type AttackContext } from './context.js';

export const POISON_LABEL = 'spaceships';
export const POISON_REPORTS = 500;

const Labels = z.object({ labels: z.array(z.object({ label: z.string(), acceptedAt: z.string().nullable() }).passthrough()) });
const Example = z.object({ label: z.string() }).passthrough();

/**
 * 500 corrections naming a label the model does not know, all from one standard client. The label
 * must stay a proposal: not accepted, not among the training examples, no retraining fired for it,
 * and the served model's labels unchanged.
 */
export const poisonedCorrections = async (c: AttackContext): Promise<AttackResult> => {
  const { stack, model, keys } = c.world;
  const ingest = stack.url('feedback-ingest');
  const before = { marks: await c.probe.retrainingMarks(model), served: servedState(await servingView(c)) };
  c.log(`poisoned corrections: ${POISON_REPORTS} reports of "${POISON_LABEL}" from the standard client…`);
  const replies: Reply[] = [];
  let accepted = 0;
  for (let i = 0; i < POISON_REPORTS; i += 100) {
    const items = Array.from({ length: 100 }, (_, k) => ({ model, kind: 'misclassification', text: `abc ${i + k}`, predictedLabel: 'garden', correctLabel: POISON_LABEL }));
    const r = await send(`${ingest}/v1/feedback/batch`, { key: keys.standard, body: { items } });
    replies.push(r);
    if (r.status === 202) accepted += items.length;
  }
  // The aggregator assesses the rules in the transaction that records each report: once all are in its ledger, any trigger they caused exists.
  if (accepted > 0) {
    await waitFor(`the aggregator to record the ${accepted} poisoned reports`, async () => ((await c.probe.ledgerRowsWithLabel(model, POISON_LABEL)) >= accepted ? true : undefined), { timeoutMs: 120_000 });
  }
  const labels = await send(`${ingest}/v1/admin/models/${model}/labels`, { key: stack.adminToken });
  if (labels.status !== 200) throw new Error(`feedback-ingest's label list answered ${labels.status}: ${labels.text.slice(0, 300)}`);
  const proposal = Labels.parse(JSON.parse(labels.text)).labels.find((l) => l.label === POISON_LABEL);
  const examples = await send(`${ingest}/internal/v1/models/${model}/training-examples?pseudoLabelMinConfidence=1&pseudoLabelMaxRows=0`, { key: stack.adminToken });
  if (examples.status !== 200) throw new Error(`feedback-ingest's training examples answered ${examples.status}: ${examples.text.slice(0, 300)}`);
  const trainable = examples.text.split('\n').filter((l) => l.trim() !== '').map((l) => Example.parse(JSON.parse(l))).filter((e) => e.label === POISON_LABEL).length;
  const after = { marks: await c.probe.retrainingMarks(model), served: servedState(await servingView(c)) };
  const changed: string[] = [];
  if (proposal?.acceptedAt) changed.push(`label accepted at ${proposal.acceptedAt}`);
  if (after.marks.triggers !== before.marks.triggers || after.marks.jobs !== before.marks.jobs) changed.push(`retraining marks ${JSON.stringify(before.marks)} → ${JSON.stringify(after.marks)}`);
  if (after.served !== before.served) changed.push(`serving ${before.served} → ${after.served}`);
  return {
    attack: `poisoned corrections (${POISON_REPORTS}× new label "${POISON_LABEL}", one standard client)`,
    sent: POISON_REPORTS,
    observed: `HTTP ${statusSummary(replies)}; label ${proposal ? 'proposed' : 'not listed'}, ${trainable} trainable examples${changed.length ? `; CHANGED: ${changed.join('; ')}` : '; no trigger, no job, model unchanged'}`,
    succeeded: trainable > 0 || changed.length > 0,
    poisonedLabelsTrainable: trainable,
  };
};
