import { describe, expect, it } from 'vitest';
import { countByKind, FAILPOINTS, FAULT_KINDS, planFaults } from './faultPlan.js';

const SERVICES = ['feedback-ingest', 'aggregator', 'drift-monitor', 'trainer', 'ab-router', 'serving'];

describe('planFaults', () => {
  it('is a function of the seed: the same seed gives the same plan, another seed another', () => {
    expect(planFaults(7, 300_000, SERVICES)).toEqual(planFaults(7, 300_000, SERVICES));
    expect(planFaults(8, 300_000, SERVICES)).not.toEqual(planFaults(7, 300_000, SERVICES));
  });
  it('spaces faults 3-7 s apart inside the window, with a target for every service fault', () => {
    const plan = planFaults(42, 300_000, SERVICES);
    expect(plan.length).toBeGreaterThan(40);
    for (const [i, f] of plan.entries()) {
      expect(f.atMs).toBeLessThan(300_000);
      if (i > 0) expect(f.atMs - plan[i - 1]!.atMs).toBeGreaterThanOrEqual(3_000);
      if (f.kind === 'kill') expect(SERVICES).toContain(f.service);
      if (f.kind === 'failpoint') expect(FAILPOINTS).toContainEqual({ name: f.failpoint, service: f.service });
      if (f.kind === 'pauseBroker') expect(f.holdMs).toBeGreaterThanOrEqual(2_000);
    }
    // Over five minutes every kind comes up.
    expect(Object.values(countByKind(plan)).every((n) => n > 0)).toBe(true);
  });
  it('leaves out failpoints of services the stack does not run', () => {
    const plan = planFaults(3, 600_000, ['feedback-ingest', 'serving']);
    for (const f of plan.filter((p) => p.kind === 'failpoint')) expect(['feedback-ingest', 'serving']).toContain(f.service);
    expect(Object.keys(countByKind([]))).toEqual([...FAULT_KINDS]);
  });
});
