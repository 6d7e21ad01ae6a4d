import { z } from 'zod';
import { HttpCallFailed } from './errors.js';
import type { ServiceName } from './serviceEnv.js';

/** What serving answers for one text. */
export const PredictAnswer = z.object({
  predictionId: z.string(),
  label: z.string(),
  confidence: z.number(),
  modelVersion: z.string(),
  variant: z.enum(['champion', 'challenger']),
}).passthrough();
export type PredictAnswer = z.infer<typeof PredictAnswer>;

/** One feedback item as feedback-ingest takes it (the service validates the rest). */
export interface FeedbackItemInput {
  model: string;
  kind: string;
  text: string;
  predictionId?: string;
  modelVersion?: string;
  variant?: string;
  predictedLabel?: string;
  correctLabel?: string;
  reporter?: string;
}

const Arm = z.object({ n: z.number(), successes: z.number() });
/** An ab-router experiment with its live totals (the admin list's fields this package relies on). */
export const ExperimentSummary = z.object({
  id: z.string(),
  model: z.string(),
  state: z.string(),
  championVersion: z.string(),
  challengerVersion: z.string(),
  totals: z.object({ champion: Arm, challenger: Arm }).passthrough(),
}).passthrough();
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;

const Accepted = z.object({ accepted: z.number(), items: z.array(z.object({ feedbackId: z.string(), sequence: z.number() })) }).passthrough();

/** Typed HTTP helpers over a running stack's services. */
export interface StackApi {
  serving: {
    predict(model: string, text: string, subjectId?: string): Promise<PredictAnswer>;
    predictBatch(model: string, items: { text: string; subjectId?: string }[]): Promise<PredictAnswer[]>;
    models(): Promise<unknown>;
    model(model: string): Promise<unknown>;
  };
  ingest: {
    feedback(item: FeedbackItemInput): Promise<{ feedbackId: string; sequence: number }>;
    feedbackBatch(items: FeedbackItemInput[]): Promise<{ accepted: number }>;
    retraining(model: string): Promise<unknown>;
    retrain(model: string, reason: string): Promise<unknown>;
  };
  abRouter: {
    experiments(model?: string): Promise<ExperimentSummary[]>;
    evaluate(id: string): Promise<unknown>;
    promote(id: string, reason: string): Promise<unknown>;
    stop(id: string, reason: string): Promise<unknown>;
    rollback(model: string, reason: string): Promise<unknown>;
  };
  drift: {
    status(model: string): Promise<unknown>;
    evaluate(model: string): Promise<unknown>;
  };
  metrics(svc: ServiceName): Promise<string>;
  ready(svc: ServiceName): Promise<boolean>;
}

/** Builds the helpers; `url` resolves a service's base URL at call time (ports survive restarts). */
export const createStackApi = (url: (svc: ServiceName) => string, adminToken: string, timeoutMs = 30_000): StackApi => {
  const call = async (svc: ServiceName, method: string, path: string, body?: unknown, opts: { admin?: boolean; allow404?: boolean } = {}): Promise<unknown> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.admin) headers.authorization = `Bearer ${adminToken}`;
    let res: Response;
    try {
      res = await fetch(`${url(svc)}${path}`, { method, headers, signal: AbortSignal.timeout(timeoutMs), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (err) {
      throw new HttpCallFailed(svc, 0, '', `${svc} ${method} ${path} failed: ${err instanceof Error ? err.message : String(err)}; is ${svc} running? see its log`, { cause: err });
    }
    const text = await res.text();
    if (opts.allow404 && res.status === 404) return undefined;
    if (!res.ok) throw new HttpCallFailed(svc, res.status, text, `${svc} ${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  };
  const enc = encodeURIComponent;
  return {
    // Every serving route needs a key with the predict scope; the admin token has every scope (and sees the routing state).
    serving: {
      predict: async (model, text, subjectId) =>
        PredictAnswer.parse(await call('serving', 'POST', `/v1/models/${enc(model)}/predict`, { text, ...(subjectId ? { subjectId } : {}) }, { admin: true })),
      predictBatch: async (model, items) =>
        z.object({ predictions: z.array(PredictAnswer) }).parse(await call('serving', 'POST', `/v1/models/${enc(model)}/predict:batch`, { items }, { admin: true })).predictions,
      models: () => call('serving', 'GET', '/v1/models', undefined, { admin: true }),
      model: (model) => call('serving', 'GET', `/v1/models/${enc(model)}`, undefined, { admin: true }),
    },
    ingest: {
      feedback: async (item) => {
        const r = Accepted.safeParse(await call('feedback-ingest', 'POST', '/v1/feedback/batch', { items: [item] }, { admin: true }));
        if (!r.success || !r.data.items[0]) throw new Error(`feedback-ingest answered an unexpected body: ${r.success ? 'no items' : r.error.message}`);
        return r.data.items[0];
      },
      feedbackBatch: async (items) => Accepted.parse(await call('feedback-ingest', 'POST', '/v1/feedback/batch', { items }, { admin: true })),
      retraining: (model) => call('feedback-ingest', 'GET', `/v1/models/${enc(model)}/retraining`, undefined, { admin: true }),
      retrain: (model, reason) => call('feedback-ingest', 'POST', `/v1/admin/models/${enc(model)}/retrain`, { reason }, { admin: true }),
    },
    abRouter: {
      experiments: async (model) =>
        z.object({ experiments: z.array(ExperimentSummary) }).parse(await call('ab-router', 'GET', `/admin/experiments${model ? `?model=${enc(model)}` : ''}`, undefined, { admin: true })).experiments,
      evaluate: (id) => call('ab-router', 'POST', `/admin/experiments/${enc(id)}/evaluate`, undefined, { admin: true }),
      promote: (id, reason) => call('ab-router', 'POST', `/admin/experiments/${enc(id)}/promote`, { reason }, { admin: true }),
      stop: (id, reason) => call('ab-router', 'POST', `/admin/experiments/${enc(id)}/stop`, { reason }, { admin: true }),
      rollback: (model, reason) => call('ab-router', 'POST', `/admin/models/${enc(model)}/rollback`, { reason }, { admin: true }),
    },
    drift: {
      status: (model) => call('drift-monitor', 'GET', `/admin/models/${enc(model)}/drift`, undefined, { admin: true, allow404: true }),
      evaluate: (model) => call('drift-monitor', 'POST', `/admin/models/${enc(model)}/drift/evaluate`, undefined, { admin: true, allow404: true }),
    },
    metrics: async (svc) => String(await call(svc, 'GET', '/metrics')),
    ready: async (svc) => {
      try {
        return (await fetch(`${url(svc)}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
      } catch {
        return false;
      }
    },
  };
};
