import { ModelName } from '@flywheel/contracts';
import type { ObjectStore } from '@flywheel/objectstore';
import { buildWeeklyReport, previousIsoWeek, renderWeeklyReport, type HistoryInput, type Sourced, type WeeklyReport } from '@flywheel/reports';
import { NotFound, type Logger } from '@flywheel/runtime';
import type { ReportHistory } from './ReportHistory.js';
import type { ExperimentSource, LabelSource } from './reportSources.js';

/** The registry reads a report needs (PgRegistry). */
export interface ReportRegistry {
  listModels(): Promise<{ model: string }[]>;
  history(model: ModelName): Promise<HistoryInput[]>;
}

/** One stored report: its name and the keys of its page and its JSON twin. */
export interface StoredReport { name: string; html: string; json: string }

/** Key prefix of a model's reports in the bucket. */
export const reportPrefix = (model: string): string => `reports/${model}/`;
/** The name of an on-demand report: its generation time, without characters keys and file names dislike. */
export const timestampName = (d: Date): string => d.toISOString().replace(/[:.]/g, '').replace(/\d{3}Z$/, 'Z');

const settle = async <T>(what: string, run: (() => Promise<T>) | undefined, unset: string): Promise<Sourced<T>> => {
  if (!run) return { ok: false, note: unset };
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, note: `${what}: ${(err as Error).message}` };
  }
};

/**
 * Weekly reports per model: gathered from the drift windows and feedback verdicts this service keeps,
 * the registry's history, the ab-router's experiments and feedback-ingest's labels; rendered as an
 * HTML page and its JSON twin under `reports/<model>/<name>.{html,json}`. A source that fails or is
 * not configured leaves its section saying why; the report is still written.
 */
export const createWeeklyReports = (deps: {
  history: ReportHistory;
  registry: ReportRegistry;
  experiments?: ExperimentSource | undefined;
  labels?: LabelSource | undefined;
  store: ObjectStore;
  logger: Logger;
  now?: () => Date;
}) => {
  const now = deps.now ?? (() => new Date());

  const gather = async (model: string, from: Date, to: Date, isoWeek?: string): Promise<WeeklyReport> => {
    const { history: h, experiments: ab, labels: lb } = deps;
    const [windows, outcomes, confusions, history, experiments, labels] = await Promise.all([
      settle('drift windows', () => h.windows(model, from, to), ''),
      settle('feedback verdicts', () => h.outcomesByDay(model, from, to), ''),
      settle('feedback verdicts', () => h.confusions(model, from, to), ''),
      settle('registry', () => deps.registry.history(ModelName.parse(model)), ''),
      settle('ab-router', ab && (() => ab.experiments(model)), 'ABROUTER_URL is not set on the drift-monitor'),
      settle('feedback-ingest', lb && (() => lb.labels(model)), 'FEEDBACK_URL is not set on the drift-monitor'),
    ]);
    return buildWeeklyReport({ model, from, to, generatedAt: now(), isoWeek, windows, outcomes, confusions, history, experiments, labels });
  };

  /** Builds, renders and stores one report; returns where it is and what it says. */
  const generate = async (model: string, o: { from: Date; to: Date; name: string; isoWeek?: string }): Promise<StoredReport & { report: WeeklyReport }> => {
    const report = await gather(model, o.from, o.to, o.isoWeek);
    const base = `${reportPrefix(model)}${o.name}`;
    // JSON last: the scheduled job takes an existing JSON twin as "this week is done".
    await deps.store.put(`${base}.html`, renderWeeklyReport(report), 'text/html; charset=utf-8');
    await deps.store.put(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`, 'application/json');
    deps.logger.info({ model, name: o.name, windows: report.windows.length, sources: report.sources }, 'weekly report stored');
    return { name: o.name, html: `${base}.html`, json: `${base}.json`, report };
  };

  return {
    generate,
    /** A report of the last `sinceMs` up to now, named by its generation time (POST …/reports, `flywheel report`). */
    generateSince: (model: string, sinceMs: number) => {
      const to = now();
      return generate(model, { from: new Date(to.getTime() - sinceMs), to, name: timestampName(to) });
    },
    /**
     * The scheduled job (svc.every): last ISO week's report of every registered model that does not
     * have it yet. Idempotent per week, so restarts and a short check interval never make two.
     */
    runWeekly: async (): Promise<string[]> => {
      const week = previousIsoWeek(now());
      const made: string[] = [];
      for (const { model } of await deps.registry.listModels()) {
        if (await deps.store.exists(`${reportPrefix(model)}${week.week}.json`)) continue;
        try {
          await generate(model, { from: week.from, to: week.to, name: week.week, isoWeek: week.week });
          made.push(model);
        } catch (err) {
          deps.logger.error({ err, model, week: week.week }, 'weekly report failed; retried at the next check');
        }
      }
      return made;
    },
    /** A model's stored reports, newest name first. */
    list: async (model: string): Promise<StoredReport[]> => {
      const prefix = reportPrefix(model);
      const names = new Set((await deps.store.list(prefix)).filter((k) => k.endsWith('.json')).map((k) => k.slice(prefix.length, -'.json'.length)));
      return [...names].sort().reverse().map((name) => ({ name, html: `${prefix}${name}.html`, json: `${prefix}${name}.json` }));
    },
    /** One stored file of a report (`<name>.html` or `<name>.json`). */
    read: async (model: string, file: string): Promise<Buffer> => {
      const key = `${reportPrefix(model)}${file}`;
      if (!(await deps.store.exists(key))) throw new NotFound(`no report file ${file} for ${model}; list them with GET /admin/v1/models/${model}/reports`);
      return deps.store.get(key);
    },
  };
};

export type WeeklyReports = ReturnType<typeof createWeeklyReports>;
