import { parser } from '@prometheus-io/lezer-promql';

/** Grafana's built-in interval variables, replaced by a duration so that a query parses as PromQL. */
const GRAFANA_DURATIONS = /\$(__rate_interval|__interval|__range|\{__rate_interval\}|\{__interval\}|\{__range\})/g;

/** A dashboard query turned into plain PromQL: Grafana's interval variables become `5m`. */
export const fromGrafana = (expr: string): string => expr.replace(GRAFANA_DURATIONS, '5m');

/**
 * The metric names a PromQL expression selects (`foo`, `foo{a="b"}`, `{__name__="foo"}`), in order of
 * appearance, without duplicates. Throws on a syntax error, naming the broken part, because a query
 * that does not parse silently shows nothing in Grafana and never fires in Prometheus.
 */
export const metricNames = (expr: string): string[] => {
  const tree = parser.parse(expr);
  const names = new Set<string>();
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: "${expr.slice(Math.max(0, node.from - 15), node.to + 15)}"`);
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.add(expr.slice(id.from, id.to));
      }
      if (node.name === 'UnquotedLabelMatcher') {
        const label = node.node.getChild('LabelName');
        const op = node.node.getChild('MatchOp');
        const value = node.node.getChild('StringLiteral');
        if (label && op && value && expr.slice(label.from, label.to) === '__name__' && expr.slice(op.from, op.to) === '=') {
          names.add(expr.slice(value.from + 1, value.to - 1));
        }
      }
    },
  });
  if (errors.length > 0) throw new Error(`PromQL syntax error in ${JSON.stringify(expr)} ${errors.join('; ')}`);
  return [...names];
};

const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/**
 * Whether `name` is one of `known`, or a histogram/summary series (`_bucket`, `_sum`, `_count`) of one.
 * A counter whose own name ends in `_count` is matched exactly first.
 */
export const isKnownMetric = (name: string, known: ReadonlySet<string>): boolean =>
  known.has(name) || (HISTOGRAM_SERIES.test(name) && known.has(name.replace(HISTOGRAM_SERIES, '')));
