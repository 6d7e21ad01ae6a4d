import { z } from 'zod';
import type { ExperimentInput, LabelInput } from '@flywheel/reports';

/** A model's A/B experiments (the ab-router's admin API). */
export interface ExperimentSource { experiments(model: string): Promise<ExperimentInput[]> }
/** A model's proposed and accepted labels (feedback-ingest's label route). */
export interface LabelSource { labels(model: string): Promise<LabelInput[]> }

type Fetch = typeof fetch;
const TIMEOUT_MS = 10_000;

const Arm = z.object({ n: z.number(), successes: z.number() });
const Experiment = z.object({
  id: z.string(), championVersion: z.string(), challengerVersion: z.string(), state: z.string(), startedAt: z.string(), decidedAt: z.string().nullable(),
  decision: z.unknown().optional(),
  preview: z.object({ decision: z.string() }).passthrough().optional(),
  totals: z.object({ champion: Arm, challenger: Arm }).passthrough().optional(),
}).passthrough();
const Experiments = z.object({ experiments: z.array(Experiment) });
const Labels = z.object({
  labels: z.array(z.object({ label: z.string(), reports: z.number(), pendingItems: z.number(), firstSeen: z.string(), acceptedAt: z.string().nullable() }).passthrough()),
});

const getJson = async (f: Fetch, url: string, token: string, what: string): Promise<unknown> => {
  const res = await f(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${what} answered ${res.status} for GET ${url}`);
  return res.json();
};

/** Experiments from the ab-router (GET /admin/experiments?model=), read with an admin key. */
export const httpExperimentSource = (o: { baseUrl: string; token: string; fetch?: Fetch }): ExperimentSource => ({
  experiments: async (model) => {
    const url = `${o.baseUrl.replace(/\/$/, '')}/admin/experiments?model=${encodeURIComponent(model)}&limit=1000`;
    const body = Experiments.parse(await getJson(o.fetch ?? fetch, url, o.token, 'the ab-router'));
    return body.experiments.map((e) => ({
      id: e.id, championVersion: e.championVersion, challengerVersion: e.challengerVersion, state: e.state, startedAt: e.startedAt, decidedAt: e.decidedAt,
      decision: e.decision, ...(e.preview ? { preview: { decision: e.preview.decision } } : {}), ...(e.totals ? { totals: { champion: e.totals.champion, challenger: e.totals.challenger } } : {}),
    }));
  },
});

/** Labels from feedback-ingest (GET /v1/admin/models/:model/labels), read with an admin key; a model it does not know has none. */
export const httpLabelSource = (o: { baseUrl: string; token: string; fetch?: Fetch }): LabelSource => ({
  labels: async (model) => {
    const url = `${o.baseUrl.replace(/\/$/, '')}/v1/admin/models/${encodeURIComponent(model)}/labels`;
    const f = o.fetch ?? fetch;
    const res = await f(url, { headers: { authorization: `Bearer ${o.token}`, accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`feedback-ingest answered ${res.status} for GET ${url}`);
    return Labels.parse(await res.json()).labels.map((l) => ({ label: l.label, reports: l.reports, pendingItems: l.pendingItems, firstSeen: l.firstSeen, acceptedAt: l.acceptedAt }));
  },
});
