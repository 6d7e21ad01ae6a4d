import { diffCounters, parseServingCounters, toHealth, type ServingCounters, type ServingHealth } from './servingHealth.js';

/** Champion health per model since the previous sample. */
export interface ServingHealthSource {
  sample(): Promise<Map<string, ServingHealth>>;
}

/**
 * Scrapes every serving replica's /metrics and sums what changed since the last scrape: no
 * per-prediction traffic to the router, and the counters serving already keeps for Prometheus.
 */
export class ServingHealthProbe implements ServingHealthSource {
  private readonly previous = new Map<string, Map<string, ServingCounters>>();
  constructor(private readonly urls: readonly string[], private readonly timeoutMs = 2_000) {}

  async sample(): Promise<Map<string, ServingHealth>> {
    const totals = new Map<string, ServingCounters>();
    for (const url of this.urls) {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) throw new Error(`serving metrics at ${url} answered ${res.status}`);
      const current = parseServingCounters(await res.text());
      const before = this.previous.get(url);
      this.previous.set(url, current);
      if (!before) continue; // the first scrape of a replica is the baseline
      for (const [model, cur] of current) {
        const d = diffCounters(before.get(model), cur);
        const t = totals.get(model) ?? { requests: 0, serverErrors: 0, buckets: new Map<number, number>() };
        t.requests += d.requests;
        t.serverErrors += d.serverErrors;
        for (const [le, n] of d.buckets) t.buckets.set(le, (t.buckets.get(le) ?? 0) + n);
        totals.set(model, t);
      }
    }
    return new Map([...totals].map(([model, c]) => [model, toHealth(c)]));
  }
}
