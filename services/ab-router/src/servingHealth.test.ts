import { describe, expect, it } from 'vitest';
import { diffCounters, parseServingCounters, quantileFromBuckets, servingVerdict, toHealth } from './servingHealth.js';

const scrape = (requests: number, errors: number, fast: number, slow: number) => [
  '# TYPE flywheel_serving_requests_total counter',
  `flywheel_serving_requests_total{model="m",variant="champion",service="serving"} ${requests}`,
  `flywheel_serving_requests_total{model="m",variant="challenger",service="serving"} 999`,
  `flywheel_serving_errors_total{model="m",code="internal",service="serving"} ${errors}`,
  `flywheel_serving_errors_total{model="m",code="invalid_request",service="serving"} 500`,
  `flywheel_serving_request_duration_seconds_bucket{le="0.005",model="m",variant="champion",service="serving"} ${fast}`,
  `flywheel_serving_request_duration_seconds_bucket{le="1",model="m",variant="champion",service="serving"} ${fast + slow}`,
  `flywheel_serving_request_duration_seconds_bucket{le="+Inf",model="m",variant="champion",service="serving"} ${fast + slow}`,
].join('\n');

describe('serving health from /metrics', () => {
  it('reads champion requests, server errors (not caller errors) and the latency histogram', () => {
    const c = parseServingCounters(scrape(100, 3, 90, 10)).get('m')!;
    expect(c.requests).toBe(100);
    expect(c.serverErrors).toBe(3);
    expect(c.buckets.get(0.005)).toBe(90);
  });

  it('measures one interval: error rate and p99 from the differences', () => {
    const before = parseServingCounters(scrape(1000, 0, 1000, 0)).get('m')!;
    const after = parseServingCounters(scrape(1300, 30, 1290, 10)).get('m')!;
    const h = toHealth(diffCounters(before, after));
    expect(h.requests).toBe(300);
    expect(h.errorRate).toBeCloseTo(30 / 330, 6);
    // 10 of 300 (3.3%) were slow, so the 99th percentile lies in the 1 s bucket.
    expect(h.p99Ms).toBe(1000);
  });

  it('treats counters that went down as a restart', () => {
    const before = parseServingCounters(scrape(5000, 0, 5000, 0)).get('m')!;
    const after = parseServingCounters(scrape(200, 0, 200, 0)).get('m')!;
    expect(diffCounters(before, after).requests).toBe(200);
  });

  it('finds quantiles at bucket bounds', () => {
    const b = new Map([[0.001, 50], [0.01, 99], [0.1, 100], [Number.POSITIVE_INFINITY, 100]]);
    expect(quantileFromBuckets(b, 0.5)).toBe(0.001);
    expect(quantileFromBuckets(b, 0.99)).toBe(0.01);
    expect(quantileFromBuckets(new Map(), 0.99)).toBe(0);
  });

  it('rolls back only past a limit and with enough traffic', () => {
    const limits = { minRequests: 100, maxErrorRate: 0.05, maxP99Ms: 1000 };
    expect(servingVerdict({ requests: 50, errorRate: 0.5, p99Ms: 5000 }, limits)).toBeUndefined();
    expect(servingVerdict({ requests: 500, errorRate: 0.01, p99Ms: 20 }, limits)).toBeUndefined();
    expect(servingVerdict({ requests: 500, errorRate: 0.2, p99Ms: 20 }, limits)).toMatch(/error rate 20.0%/);
    expect(servingVerdict({ requests: 500, errorRate: 0, p99Ms: 2500 }, limits)).toMatch(/p99 latency 2500 ms/);
  });
});
