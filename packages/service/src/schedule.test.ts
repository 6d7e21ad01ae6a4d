import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger } from '@flywheel/runtime';
import { createSchedule } from './schedule.js';

const logger = createLogger({ service: 'schedule-test', level: 'silent' });

describe('createSchedule', () => {
  it('never overlaps a run with itself', async () => {
    let running = 0;
    let maxRunning = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const s = createSchedule({ name: 't', everyMs: 0, logger, metrics: new Registry(), run: async () => {
      running++; maxRunning = Math.max(maxRunning, running); await gate; running--;
    } });
    const a = s.runNow();
    const b = s.runNow();
    release();
    await Promise.all([a, b]);
    expect(maxRunning).toBe(1);
  });

  it('counts a failed run and keeps going', async () => {
    const metrics = new Registry();
    let calls = 0;
    const s = createSchedule({ name: 'flaky', everyMs: 0, logger, metrics, run: async () => { calls++; if (calls === 1) throw new Error('boom'); } });
    await s.runNow();
    await s.runNow();
    expect(calls).toBe(2);
    expect(await metrics.getSingleMetricAsString('flywheel_schedule_failures_total')).toContain('schedule="flaky"} 1');
  });

  it('stop() waits for the run in flight', async () => {
    let finished = false;
    const s = createSchedule({ name: 'slow', everyMs: 0, logger, metrics: new Registry(), run: async () => { await new Promise((r) => setTimeout(r, 30)); finished = true; } });
    void s.runNow();
    await s.stop();
    expect(finished).toBe(true);
  });
});
