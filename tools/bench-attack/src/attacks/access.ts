import type { ServiceName } from '@flywheel/local-stack';
import { is2xx, send, statusSummary, type Call } from '../http.js';
import type { AttackResult } from '../report.js';
import { someText, type AttackContext } from './context.js';

interface Route {
  svc: ServiceName;
  what: string;
  path: string;
  body?: unknown;
  /** The scope the route needs; the wrong-scope attack uses a key without it. */
  needs: 'predict' | 'feedback' | 'admin';
}

const WRONG_KEY = `fw_${'0'.repeat(40)}`;

/**
 * Predict, feedback and admin routes of every service, called without a key, with a key nobody
 * issued, and with a valid key that lacks the route's scope; any 2xx is an attack that got through.
 * Last, what a predict-only key learns of the model: routing internals (salt, challenger) must stay hidden.
 */
export const access = async (c: AttackContext): Promise<AttackResult[]> => {
  const { stack, model, keys, experimentId } = c.world;
  const feedback = { model, kind: 'thumbs_down', text: someText(9) };
  const routes: Route[] = [
    { svc: 'serving', what: 'predict', path: `/v1/models/${model}/predict`, body: { text: someText(7) }, needs: 'predict' },
    { svc: 'serving', what: 'predict batch', path: `/v1/models/${model}/predict:batch`, body: { items: [{ text: someText(8) }] }, needs: 'predict' },
    { svc: 'serving', what: 'model info', path: `/v1/models/${model}`, needs: 'predict' },
    { svc: 'feedback-ingest', what: 'feedback', path: '/v1/feedback', body: feedback, needs: 'feedback' },
    { svc: 'feedback-ingest', what: 'feedback batch', path: '/v1/feedback/batch', body: { items: [feedback] }, needs: 'feedback' },
    { svc: 'feedback-ingest', what: 'retraining status', path: `/v1/models/${model}/retraining`, needs: 'feedback' },
    { svc: 'feedback-ingest', what: 'manual retrain', path: `/v1/admin/models/${model}/retrain`, body: { reason: 'bench-attack' }, needs: 'admin' },
    { svc: 'feedback-ingest', what: 'accept a label', path: `/v1/admin/models/${model}/labels/spaceships/accept`, body: {}, needs: 'admin' },
    { svc: 'feedback-ingest', what: 'training examples', path: `/internal/v1/models/${model}/training-examples?pseudoLabelMinConfidence=1&pseudoLabelMaxRows=0`, needs: 'admin' },
    { svc: 'ab-router', what: 'list experiments', path: '/admin/experiments', needs: 'admin' },
    { svc: 'ab-router', what: 'promote now', path: `/admin/experiments/${experimentId || '00000000-0000-4000-8000-000000000000'}/promote`, body: { reason: 'bench-attack' }, needs: 'admin' },
    { svc: 'ab-router', what: 'rollback', path: `/admin/models/${model}/rollback`, body: { reason: 'bench-attack' }, needs: 'admin' },
    { svc: 'drift-monitor', what: 'drift status', path: `/admin/models/${model}/drift`, needs: 'admin' },
    { svc: 'drift-monitor', what: 'drift evaluate', path: `/admin/models/${model}/drift/evaluate`, body: {}, needs: 'admin' },
  ].filter((r) => stack.services.includes(r.svc as ServiceName)) as Route[];
  // A valid key without the route's scope: feedback-only for predict, predict-only for feedback, the standard client for admin.
  const wrongScope = (r: Route): string => (r.needs === 'predict' ? keys.feedbackOnly : r.needs === 'feedback' ? keys.predictOnly : keys.standard);
  const call = (r: Route, key: string | undefined) => {
    const c: Call = { key, ...(r.body === undefined ? {} : { body: r.body }) };
    return send(`${stack.url(r.svc)}${r.path}`, c);
  };

  c.log(`access: ${routes.length} routes without a key, with a wrong key, with a wrong-scope key…`);
  const out: AttackResult[] = [];
  for (const [attack, keyFor] of [
    ['no key (predict, feedback, admin routes)', () => undefined],
    ['wrong key (predict, feedback, admin routes)', () => WRONG_KEY],
    ['wrong-scope key (predict, feedback, admin routes)', wrongScope],
  ] as [string, (r: Route) => string | undefined][]) {
    const replies = [];
    const through: string[] = [];
    for (const r of routes) {
      const reply = await call(r, keyFor(r));
      replies.push(reply);
      if (is2xx(reply)) through.push(`${r.svc} ${r.what}`);
    }
    out.push({
      attack, sent: replies.length,
      observed: `HTTP ${statusSummary(replies)}${through.length ? `; 2xx from: ${through.join(', ')}` : ''}`,
      succeeded: through.length > 0, unauthenticated2xx: through.length,
    });
  }

  if (stack.services.includes('serving')) {
    const view = await send(`${stack.url('serving')}/v1/models/${model}`, { key: keys.predictOnly });
    const leaked = ['salt', 'routing', 'challenger', 'standby'].filter((w) => view.text.includes(`"${w}"`));
    out.push({
      attack: 'routing internals to a predict-only key', sent: 1,
      observed: `HTTP ${view.status}; ${leaked.length ? `LEAKED fields: ${leaked.join(', ')}` : 'champion and labels only'}`,
      succeeded: leaked.length > 0,
    });
  }
  return out;
};
