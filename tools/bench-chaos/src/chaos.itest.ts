// The chaos bench's short form in the suite: one minute, a fixed seed, on a private PostgreSQL,
// Redis, Kafka mock and S3 that the run starts and removes (the nemesis restarts and flushes
// them, so the machine's shared stores are never touched). Every count must be 0.
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from './faultPlan.js';
import { runChaos } from './runChaos.js';

const SEED = 20_261_201;

describe('bench:chaos, one minute, seed 20261201', () => {
  it('loses, doubles and strands nothing while services are killed, the broker frozen, PostgreSQL restarted, Redis flushed and failpoints fired', async () => {
    const report = await runChaos({ minutes: 1, seed: SEED, log: (line) => console.error(`[chaos] ${line}`), settleMaxMs: 120_000 });
    console.error(JSON.stringify(report));
    // The run did something: faults of several kinds were injected, traffic was acknowledged, and the lag check had partitions to look at.
    expect(report.faultErrors).toBe(0);
    expect(FAULT_KINDS.filter((k) => report.faults[k] > 0).length).toBeGreaterThanOrEqual(3);
    expect(report.traffic.feedbackAccepted).toBeGreaterThan(100);
    expect(report.partitionsWatched).toBeGreaterThan(0);
    expect({
      lostFeedback: report.lostFeedback,
      duplicateFeedback: report.duplicateFeedback,
      doubleJobs: report.doubleJobs,
      stuckPartitions: report.stuckPartitions,
      inconsistentDecisions: report.inconsistentDecisions,
      danglingVersions: report.danglingVersions,
      serviceCrashes: report.serviceCrashes,
      details: report.details,
    }).toEqual({ lostFeedback: 0, duplicateFeedback: 0, doubleJobs: 0, stuckPartitions: 0, inconsistentDecisions: 0, danglingVersions: 0, serviceCrashes: 0, details: {} });
  }, 360_000);
});
