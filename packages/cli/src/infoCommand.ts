import { z } from 'zod';
import type { PgRegistry } from '@flywheel/registry';
import { requireModel } from './commands.js';
import type { RunningExperiment } from './runningExperiment.js';
import type { ServiceCall } from './serviceClient.js';

const Arm = z.object({ n: z.number(), successes: z.number() });
const Experiments = z.object({
  experiments: z.array(z.object({
    id: z.string(), state: z.string(), championVersion: z.string(), challengerVersion: z.string(),
    startedAt: z.string().optional(), totals: z.object({ champion: Arm, challenger: Arm }).passthrough().optional(),
  }).passthrough()),
});
const Retraining = z.object({
  pendingCorrections: z.number(),
  pendingFeedback: z.number(),
  rules: z.object({ correctionThreshold: z.number() }).passthrough(),
  lastTrainedAt: z.string().nullable(),
  lastTrainedVersion: z.string().nullable(),
  currentJob: z.object({ jobId: z.string(), state: z.string(), progress: z.number(), stage: z.string().nullable() }).nullable(),
}).passthrough();

export interface InfoDeps {
  registry: Pick<PgRegistry, 'listModels' | 'champion' | 'challenger' | 'registration'>;
  /** the ab-router's admin API (ABROUTER_URL + ADMIN_TOKEN) */
  abRouter?: ServiceCall | undefined;
  /** fallback without the ab-router's API */
  experimentFromDb?: ((model: string) => Promise<RunningExperiment | undefined>) | undefined;
  /** feedback-ingest (FEEDBACK_URL) */
  feedback?: ServiceCall | undefined;
  print: (line: string) => void;
}

const pct = (a: { n: number; successes: number }): string => `${a.successes}/${a.n}${a.n > 0 ? ` (${((100 * a.successes) / a.n).toFixed(1)}%)` : ''}`;

/** The running experiment: from the ab-router when it is configured, else from the database. */
const runningExperiment = async (d: InfoDeps, model: string): Promise<RunningExperiment | undefined> => {
  if (d.abRouter) {
    const { experiments } = Experiments.parse(await d.abRouter('GET', `/admin/experiments?model=${encodeURIComponent(model)}&state=running`, { admin: true }));
    const e = experiments.find((x) => x.state === 'running');
    return e ? { id: e.id, championVersion: e.championVersion, challengerVersion: e.challengerVersion, startedAt: e.startedAt, ...(e.totals ? { totals: e.totals } : {}), source: 'ab-router' } : undefined;
  }
  return d.experimentFromDb?.(model);
};

/** `flywheel info MODEL`: one screen about a model. */
export const infoCommand = async (d: InfoDeps, model: string): Promise<void> => {
  const m = await requireModel(d.registry, model);
  const [champion, challenger] = await Promise.all([d.registry.champion(m), d.registry.challenger(m)]);
  const lines: [string, string][] = [['model', m]];
  lines.push(['champion', champion ? `${champion.version} (since ${champion.updatedAt.toISOString()})` : '- (none: bootstrap or promote a version)']);
  lines.push(['challenger', challenger ? challenger.version : '-']);
  const labels = champion?.labels ?? challenger?.labels ?? [];
  lines.push(['labels', labels.length > 0 ? `${labels.length}: ${labels.join(', ')}` : '-']);
  // How the champion was made, as its registration recorded it (the trainer says: new base or adapter, and why).
  const registered = champion ? await d.registry.registration(m, champion.version) : undefined;
  lines.push(['trained', registered ? `${registered.reason} (by ${registered.actor})` : '-']);
  const metrics = Object.entries(champion?.metrics ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number');
  lines.push(['metrics', metrics.length > 0 ? metrics.map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(', ') : '-']);
  const e = await runningExperiment(d, m);
  if (e) {
    const totals = e.totals ? `; champion ${pct(e.totals.champion)}, challenger ${pct(e.totals.challenger)} correct` : '';
    lines.push(['experiment', `${e.id}: ${e.championVersion} vs ${e.challengerVersion}, running since ${e.startedAt ?? '?'}${totals} (${e.source})`]);
  } else {
    lines.push(['experiment', d.abRouter || d.experimentFromDb ? 'none running' : 'unknown (set ABROUTER_URL and ADMIN_TOKEN)']);
  }
  if (d.feedback) {
    const r = Retraining.parse(await d.feedback('GET', `/v1/models/${encodeURIComponent(m)}/retraining`));
    const job = r.currentJob ? `; training now: ${r.currentJob.state} ${(100 * r.currentJob.progress).toFixed(0)}%${r.currentJob.stage ? ` (${r.currentJob.stage})` : ''}` : '';
    const last = r.lastTrainedAt ? `; last trained ${r.lastTrainedAt}${r.lastTrainedVersion ? ` → ${r.lastTrainedVersion}` : ''}` : '';
    lines.push(['retraining', `${r.pendingCorrections}/${r.rules.correctionThreshold} corrections pending, ${r.pendingFeedback} feedback items${last}${job}`]);
  } else {
    lines.push(['retraining', 'unknown (set FEEDBACK_URL)']);
  }
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) d.print(`${k.padEnd(width)}  ${v}`);
};
