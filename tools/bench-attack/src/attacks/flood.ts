import { pool, send, statusSummary, type Reply } from '../http.js';
import type { AttackResult } from '../report.js';
import { someText, type AttackContext } from './context.js';

/** Requests per path: three times the per-minute limit, so at least two thirds must be refused whatever the window. */
const FLOOD_FACTOR = 3;
const CONCURRENCY = 16;

const floodRow = (attack: string, replies: readonly Reply[]): AttackResult => {
  const limited = replies.filter((r) => r.status === 429 && r.retryAfter !== null).length;
  const bare429 = replies.filter((r) => r.status === 429 && r.retryAfter === null).length;
  return {
    attack, sent: replies.length,
    observed: `HTTP ${statusSummary(replies)}; ${limited} × 429 with Retry-After${bare429 ? `, ${bare429} without` : ''}`,
    // The flood got through if nothing was refused for its rate.
    succeeded: limited === 0,
    rateLimited429: limited,
  };
};

/** The standard client sends predict and feedback requests far above its per-minute limit. */
export const flood = async (c: AttackContext): Promise<AttackResult[]> => {
  const { stack, model, keys, rateLimitPerMinute } = c.world;
  const n = rateLimitPerMinute * FLOOD_FACTOR;
  c.log(`flood: ${n} predict and ${n} feedback requests from the standard client (limit ${rateLimitPerMinute}/min)…`);
  const predict = await pool(Array.from({ length: n }, (_, i) => () =>
    send(`${stack.url('serving')}/v1/models/${model}/predict`, { key: keys.standard, body: { text: someText(100 + i) } })), CONCURRENCY);
  const feedback = await pool(Array.from({ length: n }, (_, i) => () =>
    send(`${stack.url('feedback-ingest')}/v1/feedback`, { key: keys.standard, body: { model, kind: 'thumbs_up', text: someText(100 + i) } })), CONCURRENCY);
  return [floodRow('flood above the rate limit: predict', predict), floodRow('flood above the rate limit: feedback', feedback)];
};
