import { randomUUID } from 'node:crypto';
import { clientSource, topics } from '@flywheel/contracts';
import { is2xx, send, statusSummary, type Reply } from '../http.js';
import type { AttackResult } from '../report.js';
import { eventually } from '../waitFor.js';
import { someText, type AttackContext } from './context.js';

const NUL = 'a\u0000b';
/** How long a valid event sent after a poisoned one may take to reach the aggregator's ledger before its partition counts as stalled. */
const STALL_TIMEOUT_MS = 60_000;

const refusedRow = (attack: string, calls: readonly [string, Reply][], expected: readonly number[]): AttackResult => {
  const replies = calls.map(([, r]) => r);
  const through = calls.filter(([, r]) => is2xx(r)).map(([what, r]) => `${what} → ${r.status}`);
  const unexpected = replies.filter((r) => !is2xx(r) && !expected.includes(r.status) && r.status !== 0).length;
  return {
    attack, sent: replies.length,
    observed: `HTTP ${statusSummary(replies)} (expected ${expected.join('/')})${through.length ? `; ACCEPTED: ${through.join(', ')}` : ''}${unexpected ? `; ${unexpected} other refusals` : ''}`,
    succeeded: through.length > 0,
  };
};

/** A feedback envelope as an outside producer writes it, by hand (no schema: the point is what the consumers do with it). */
const rawFeedback = (o: { id: string; source: string; model: string; text: string }): string => JSON.stringify({
  specversion: '1.0', id: o.id, source: o.source, type: topics.feedback.schema.shape.type.value, time: new Date().toISOString(), subject: o.model,
  datacontenttype: 'application/json', schemaversion: 1, data: { feedbackId: randomUUID(), text: o.text, kind: 'thumbs_up' },
});

/**
 * NUL characters and oversized bodies at predict and feedback (400 and 413 expected), and the
 * consumers' liveness after them: a valid event sent after a poisoned one must reach the
 * aggregator's ledger, over HTTP and straight on Kafka.
 */
export const inputHygiene = async (c: AttackContext): Promise<AttackResult[]> => {
  const { stack, model, keys, clients } = c.world;
  const serving = stack.url('serving');
  const ingest = stack.url('feedback-ingest');
  const k = keys.standard;
  c.log('input hygiene: NUL characters, oversized bodies, poisoned events on Kafka…');
  const out: AttackResult[] = [];

  out.push(refusedRow('NUL in predict (text, subjectId)', [
    ['text', await send(`${serving}/v1/models/${model}/predict`, { key: k, body: { text: NUL } })],
    ['subjectId', await send(`${serving}/v1/models/${model}/predict:batch`, { key: k, body: { items: [{ text: someText(1), subjectId: NUL }] } })],
  ], [400]));
  out.push(refusedRow('NUL in feedback (text, correctLabel, reporter)', [
    ['text', await send(`${ingest}/v1/feedback`, { key: k, body: { model, kind: 'thumbs_up', text: NUL } })],
    ['correctLabel', await send(`${ingest}/v1/feedback`, { key: k, body: { model, kind: 'misclassification', text: someText(2), predictedLabel: 'garden', correctLabel: NUL } })],
    ['reporter', await send(`${ingest}/v1/feedback`, { key: k, body: { model, kind: 'thumbs_up', text: someText(3), reporter: NUL } })],
  ], [400]));
  const big = (bytes: number): string => 'x'.repeat(bytes);
  out.push(refusedRow('oversized predict bodies (2 MB single, 13 MB batch)', [
    ['2 MB single', await send(`${serving}/v1/models/${model}/predict`, { key: k, raw: JSON.stringify({ text: big(2 * 1024 * 1024) }) })],
    ['13 MB batch', await send(`${serving}/v1/models/${model}/predict:batch`, { key: k, raw: JSON.stringify({ items: [{ text: big(13 * 1024 * 1024) }] }) })],
  ], [413]));
  out.push(refusedRow('oversized feedback body (2 MB)', [
    ['2 MB', await send(`${ingest}/v1/feedback`, { key: k, raw: JSON.stringify({ model, kind: 'thumbs_up', text: big(2 * 1024 * 1024) }) })],
  ], [413]));

  // Over HTTP: after the NUL reports above, a valid report still reaches the ledger.
  const valid = await send(`${ingest}/v1/feedback`, { key: k, body: { model, kind: 'thumbs_up', text: someText(4) } });
  const validId = is2xx(valid) ? (JSON.parse(valid.text) as { feedbackId?: string }).feedbackId : undefined;
  if (validId === undefined) throw new Error(`a valid report from the standard client was refused (${valid.status}): ${valid.text.slice(0, 300)}`);
  const httpFlows = await eventually(async () => (await c.probe.inLedger([validId])) === 1, STALL_TIMEOUT_MS);
  out.push({
    attack: 'consumers after NUL reports over HTTP', sent: 1,
    observed: httpFlows ? 'the next valid report reached the aggregator ledger' : `the next valid report did not reach the ledger within ${STALL_TIMEOUT_MS / 1000} s`,
    succeeded: !httpFlows, stalledPartitions: httpFlows ? 0 : 1,
  });

  // Straight on Kafka, keyed like real events (the model), so both land on one partition in order.
  const topic = `${stack.topicPrefix}${topics.feedback.name}`;
  const source = clientSource(clients.standard);
  const poisonId = randomUUID();
  const followId = randomUUID();
  await c.kafka.produce(topic, model, rawFeedback({ id: poisonId, source, model, text: NUL }));
  await c.kafka.produce(topic, model, rawFeedback({ id: followId, source, model, text: someText(5) }));
  const flows = await eventually(async () => (await c.probe.inLedger([followId])) === 1, STALL_TIMEOUT_MS);
  const poisonInLedger = (await c.probe.inLedger([poisonId])) > 0;
  const deadLettered = await eventually(async () => c.kafka.deadLetters().some((d) => d.eventId === poisonId), flows ? 10_000 : 0);
  out.push({
    attack: 'NUL event on Kafka, then a valid one', sent: 2,
    observed: `${deadLettered ? 'NUL event dead-lettered' : 'NUL event not seen in the DLQ'}${poisonInLedger ? ' BUT recorded in the ledger' : ''}; ${flows ? 'the valid one after it reached the ledger' : `the valid one after it did not reach the ledger within ${STALL_TIMEOUT_MS / 1000} s`}`,
    succeeded: !flows || poisonInLedger, stalledPartitions: flows ? 0 : 1,
  });
  return out;
};
