import { isKnownMetric, metricNames } from './promql.js';
import { dashboardQueries, filesIn, ruleQueries, type Query } from './queries.js';
import { repoPath } from './repo.js';

/** The provisioned dashboards and the alert rule files. */
export const dashboards = filesIn(repoPath('deploy/grafana/dashboards'), ['.json']);
export const ruleFiles = filesIn(repoPath('deploy/prometheus/rules'), ['.yml', '.yaml']);

/** All queries of the dashboards and rules, and recording-rule names (which queries may use too). */
export const allQueries = (): { queries: Query[]; recorded: Set<string> } => {
  const queries = dashboards.flatMap(dashboardQueries);
  const recorded = new Set<string>();
  for (const f of ruleFiles) {
    const r = ruleQueries(f);
    queries.push(...r.queries);
    r.recorded.forEach((n) => recorded.add(n));
  }
  return { queries, recorded };
};

/** Names used by queries that are not in `known`, as "name (where)" lines. */
export const unknownNames = (queries: Query[], known: ReadonlySet<string>): string[] =>
  queries.flatMap((q) => metricNames(q.expr).filter((n) => !isKnownMetric(n, known)).map((n) => `${n} (${q.where})`));
