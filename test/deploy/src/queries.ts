import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { fromGrafana } from './promql.js';
import { repoRoot } from './repo.js';

/** One PromQL expression and where it was found (file and panel or rule), for error messages. */
export interface Query {
  where: string;
  expr: string;
}

const Target = z.object({ expr: z.string().optional() }).passthrough();
interface Panel {
  title?: string | undefined;
  targets?: z.infer<typeof Target>[] | undefined;
  panels?: Panel[] | undefined;
}
const PanelSchema: z.ZodType<Panel> = z.lazy(() =>
  z.object({ title: z.string().optional(), targets: z.array(Target).optional(), panels: z.array(PanelSchema).optional() }).passthrough(),
);
const TemplateVar = z
  .object({ name: z.string(), type: z.string(), query: z.union([z.string(), z.object({ query: z.string().optional() }).passthrough()]).optional() })
  .passthrough();
const Dashboard = z.object({
  uid: z.string(),
  title: z.string(),
  panels: z.array(PanelSchema),
  templating: z.object({ list: z.array(TemplateVar) }).optional(),
});

const LABEL_VALUES = /^\s*label_values\(\s*(.+?)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/;

/** Every PromQL query in a Grafana dashboard JSON: panel targets (rows included) and query variables. */
export const dashboardQueries = (file: string): Query[] => {
  const name = relative(repoRoot, file);
  const dash = Dashboard.parse(JSON.parse(readFileSync(file, 'utf8')));
  const out: Query[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${name} panel "${p.title ?? '?'}"`, expr: fromGrafana(t.expr) });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list ?? []) {
    if (v.type !== 'query' || v.query === undefined) continue;
    const q = typeof v.query === 'string' ? v.query : (v.query.query ?? '');
    // label_values(<selector>, label) names a metric; label_values(label) alone does not.
    const m = LABEL_VALUES.exec(q);
    if (m?.[1]) out.push({ where: `${name} variable $${v.name}`, expr: m[1] });
    else if (q && !q.startsWith('label_values(')) out.push({ where: `${name} variable $${v.name}`, expr: q.replace(/^query_result\((.*)\)$/, '$1') });
  }
  return out;
};

const RuleFile = z.object({
  groups: z.array(z.object({ name: z.string(), rules: z.array(z.object({ alert: z.string().optional(), record: z.string().optional(), expr: z.string() })) })),
});

/** Every rule expression in a Prometheus rule file, and the names of recording rules it defines. */
export const ruleQueries = (file: string): { queries: Query[]; recorded: string[] } => {
  const name = relative(repoRoot, file);
  const doc = RuleFile.parse(parse(readFileSync(file, 'utf8')));
  const queries: Query[] = [];
  const recorded: string[] = [];
  for (const g of doc.groups) {
    for (const r of g.rules) {
      queries.push({ where: `${name} ${r.alert ? `alert ${r.alert}` : `record ${r.record ?? '?'}`}`, expr: r.expr });
      if (r.record) recorded.push(r.record);
    }
  }
  return { queries, recorded };
};

/** Files in a folder with one of the extensions, sorted, as full paths. */
export const filesIn = (dir: string, exts: string[]): string[] =>
  readdirSync(dir)
    .filter((f) => exts.some((e) => f.endsWith(e)))
    .sort()
    .map((f) => join(dir, f));
