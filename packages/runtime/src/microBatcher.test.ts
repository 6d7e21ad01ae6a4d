import { describe, expect, it } from 'vitest';
import { createMicroBatcher } from './microBatcher.js';

/** A work function that records each run's items and answers each item doubled, after `release()` when gated. */
function recorder(opts: { failOn?: number } = {}) {
  const runs: number[][] = [];
  let gate: (() => void) | undefined;
  let gated = false;
  const work = async (items: readonly number[]): Promise<number[]> => {
    runs.push([...items]);
    if (gated) await new Promise<void>((r) => (gate = r));
    if (opts.failOn !== undefined && items.includes(opts.failOn)) throw new Error(`cannot run ${opts.failOn}`);
    return items.map((x) => x * 2);
  };
  return { runs, work, hold: () => void (gated = true), release: () => { gated = false; gate?.(); } };
}

describe('createMicroBatcher', () => {
  it('runs concurrent calls as one batch and gives each call its own rows in order', async () => {
    const r = recorder();
    const run = createMicroBatcher(r.work, { maxWaitMs: 5, maxItems: 100 });
    const out = await Promise.all([run([1, 2]), run([3]), run([4, 5, 6])]);
    expect(out).toEqual([[2, 4], [6], [8, 10, 12]]);
    expect(r.runs).toEqual([[1, 2, 3, 4, 5, 6]]);
  });

  it('starts a batch once it holds maxItems items, without waiting for the timer', async () => {
    const r = recorder();
    // a wait far longer than any test: only the item count can start these runs
    const run = createMicroBatcher(r.work, { maxWaitMs: 60_000, maxItems: 3 });
    const out = await Promise.all([run([1]), run([2]), run([3])]);
    expect(out).toEqual([[2], [4], [6]]);
    expect(r.runs).toEqual([[1, 2, 3]]);
  });

  it('never puts more than maxItems items from several calls into one run; a larger call runs alone', async () => {
    const r = recorder();
    const run = createMicroBatcher(r.work, { maxWaitMs: 60_000, maxItems: 4 });
    const out = await Promise.all([run([1, 2, 3]), run([4, 5]), run([6, 7, 8, 9, 10, 11]), run([12])]);
    expect(out).toEqual([[2, 4, 6], [8, 10], [12, 14, 16, 18, 20, 22], [24]]);
    expect(r.runs).toEqual([[1, 2, 3], [4, 5], [6, 7, 8, 9, 10, 11], [12]]);
  });

  it('runs a lone call after maxWaitMs even when no more calls come', async () => {
    const r = recorder();
    const run = createMicroBatcher(r.work, { maxWaitMs: 1, maxItems: 1_000 });
    expect(await run([7])).toEqual([14]);
    expect(r.runs).toEqual([[7]]);
  });

  it('keeps one run in flight: calls arriving meanwhile go together into the next run', async () => {
    const r = recorder();
    const run = createMicroBatcher(r.work, { maxWaitMs: 0, maxItems: 100 });
    r.hold();
    const first = run([1]);
    await new Promise((res) => setTimeout(res, 5)); // the first run has started and is held
    expect(r.runs).toEqual([[1]]);
    const later = [run([2]), run([3]), run([4])];
    await new Promise((res) => setTimeout(res, 5));
    expect(r.runs).toEqual([[1]]); // nothing started beside the held run
    r.release();
    expect(await first).toEqual([2]);
    expect(await Promise.all(later)).toEqual([[4], [6], [8]]);
    expect(r.runs).toEqual([[1], [2, 3, 4]]);
  });

  it('with concurrency 2 keeps two runs in flight, and the calls arriving meanwhile wait for one to end', async () => {
    const runs: number[][] = [];
    const gates: (() => void)[] = [];
    const work = async (items: readonly number[]): Promise<number[]> => {
      runs.push([...items]);
      await new Promise<void>((r) => gates.push(r));
      return items.map((x) => x * 2);
    };
    const run = createMicroBatcher(work, { maxWaitMs: 0, maxItems: 100, concurrency: 2 });
    const turn = () => new Promise((res) => setTimeout(res, 5));
    const first = run([1]);
    await turn();
    const second = run([2]);
    await turn();
    const later = [run([3]), run([4])];
    await turn();
    expect(runs).toEqual([[1], [2]]); // two in flight, the third waits
    gates[0]?.();
    expect(await first).toEqual([2]);
    await turn();
    expect(runs).toEqual([[1], [2], [3, 4]]);
    gates[1]?.();
    gates[2]?.();
    expect(await second).toEqual([4]);
    expect(await Promise.all(later)).toEqual([[6], [8]]);
  });

  it('fails only the call whose input fails: a failed batch is retried call by call', async () => {
    const r = recorder({ failOn: 13 });
    const run = createMicroBatcher(r.work, { maxWaitMs: 5, maxItems: 100 });
    const results = await Promise.allSettled([run([1]), run([13, 2]), run([3])]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: [2] });
    expect(results[1].status).toBe('rejected');
    expect(((results[1] as PromiseRejectedResult).reason as Error).message).toBe('cannot run 13');
    expect(results[2]).toEqual({ status: 'fulfilled', value: [6] });
    // the batcher keeps working after a failure
    expect(await run([5])).toEqual([10]);
  });

  it('with maxWaitMs 0 merges the calls of one event-loop turn without a timer delay', async () => {
    const r = recorder();
    const run = createMicroBatcher(r.work, { maxWaitMs: 0, maxItems: 100 });
    expect(await Promise.all([run([1]), run([2, 3])])).toEqual([[2], [4, 6]]);
    expect(await run([4])).toEqual([8]);
    expect(r.runs).toEqual([[1, 2, 3], [4]]);
  });

  it('tells observe the size of every run', async () => {
    const sizes: number[] = [];
    const run = createMicroBatcher(recorder().work, { maxWaitMs: 5, maxItems: 100, observe: (n) => sizes.push(n) });
    await Promise.all([run([1, 2]), run([3])]);
    await run([4]);
    expect(sizes).toEqual([3, 1]);
  });

  it('rejects a call when the work returns the wrong number of rows', async () => {
    const run = createMicroBatcher(async (items: readonly number[]) => items.slice(1), { maxWaitMs: 1, maxItems: 10 });
    await expect(run([1, 2])).rejects.toThrow(/returned 1 rows for 2 inputs/);
  });

  it('passes calls straight through when maxItems is 1 (batching off)', async () => {
    const r = recorder();
    const run = createMicroBatcher(r.work, { maxWaitMs: 5, maxItems: 1 });
    await Promise.all([run([1]), run([2])]);
    expect(r.runs).toEqual([[1], [2]]);
  });
});
