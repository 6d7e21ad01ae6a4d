/** Serving's own counters for one model's champion, read from its Prometheus /metrics text. */
export interface ServingCounters {
  requests: number;
  serverErrors: number;
  /** Cumulative request-duration histogram: upper bound in seconds → count at or below it. */
  buckets: Map<number, number>;
}

/** The champion's health over one interval, from the difference of two scrapes. */
export interface ServingHealth {
  requests: number;
  errorRate: number;
  p99Ms: number;
}

/** Error codes that mean serving failed, not the caller (4xx codes never count against a model). */
const SERVER_ERROR_CODES = new Set(['internal', 'unavailable', 'model_not_ready']);

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+([^\s]+)/;
const labelsOf = (s: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
};

/** Reads per-model champion counters from serving's exposition text (other metrics are ignored). */
export const parseServingCounters = (text: string): Map<string, ServingCounters> => {
  const out = new Map<string, ServingCounters>();
  const of = (model: string): ServingCounters => {
    let c = out.get(model);
    if (!c) out.set(model, (c = { requests: 0, serverErrors: 0, buckets: new Map() }));
    return c;
  };
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, rawLabels, rawValue] = m;
    const value = Number(rawValue);
    if (!Number.isFinite(value) && rawValue !== '+Inf') continue;
    const l = labelsOf(rawLabels!);
    if (!l.model) continue;
    if (name === 'flywheel_serving_requests_total' && l.variant === 'champion') of(l.model).requests += value;
    else if (name === 'flywheel_serving_errors_total' && l.code !== undefined && SERVER_ERROR_CODES.has(l.code)) of(l.model).serverErrors += value;
    else if (name === 'flywheel_serving_request_duration_seconds_bucket' && l.variant === 'champion' && l.le !== undefined) {
      const le = l.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(l.le);
      const b = of(l.model).buckets;
      b.set(le, (b.get(le) ?? 0) + value);
    }
  }
  return out;
};

/** What happened between two scrapes; a counter that went down means serving restarted, so `cur` is the delta. */
export const diffCounters = (prev: ServingCounters | undefined, cur: ServingCounters): ServingCounters => {
  if (!prev || cur.requests < prev.requests) return cur;
  const buckets = new Map<number, number>();
  for (const [le, n] of cur.buckets) buckets.set(le, Math.max(0, n - (prev.buckets.get(le) ?? 0)));
  return { requests: cur.requests - prev.requests, serverErrors: Math.max(0, cur.serverErrors - prev.serverErrors), buckets };
};

/** The q-quantile in seconds: the upper bound of the first bucket holding it (the +Inf bucket reads as the largest finite bound). */
export const quantileFromBuckets = (buckets: ReadonlyMap<number, number>, q: number): number => {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? (bounds.length > 0 ? buckets.get(bounds[bounds.length - 1]!) ?? 0 : 0);
  if (total <= 0) return 0;
  const finite = bounds.filter((b) => Number.isFinite(b));
  for (const le of finite) if ((buckets.get(le) ?? 0) >= q * total) return le;
  return finite[finite.length - 1] ?? 0;
};

/** Health over one interval. */
export const toHealth = (d: ServingCounters): ServingHealth => ({
  requests: d.requests,
  errorRate: d.requests + d.serverErrors > 0 ? d.serverErrors / (d.requests + d.serverErrors) : 0,
  p99Ms: quantileFromBuckets(d.buckets, 0.99) * 1000,
});

/** Limits on serving health; crossing one rolls the champion back. */
export interface ServingHealthLimits {
  /** No verdict on fewer champion requests than this in the interval. */
  minRequests: number;
  maxErrorRate: number;
  maxP99Ms: number;
}

/** Why the champion is unhealthy, or undefined when it is within limits (or there is too little traffic to say). */
export const servingVerdict = (h: ServingHealth, limits: ServingHealthLimits): string | undefined => {
  if (h.requests < limits.minRequests) return undefined;
  if (h.errorRate > limits.maxErrorRate) return `serving error rate ${(h.errorRate * 100).toFixed(1)}% over ${h.requests} champion requests is above the limit ${(limits.maxErrorRate * 100).toFixed(1)}%`;
  if (h.p99Ms > limits.maxP99Ms) return `serving p99 latency ${h.p99Ms.toFixed(0)} ms over ${h.requests} champion requests is above the limit ${limits.maxP99Ms} ms`;
  return undefined;
};
