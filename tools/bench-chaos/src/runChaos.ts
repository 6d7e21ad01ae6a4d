import { danglingVersions, doubleJobs, feedbackFindings, inconsistentDecisions, stuckPartitions } from './checks.js';
import { countByKind, planFaults, type FaultKind } from './faultPlan.js';
import { runNemesis, type FaultRecord } from './nemesis.js';
import { createObserver, type Observer } from './observe.js';
import { createSupervisor, type Crash } from './supervisor.js';
import { startTraffic, type TrafficStats } from './traffic.js';
import { startChaosWorld } from './world.js';

export interface ChaosOptions {
  minutes: number;
  seed: number;
  log: (line: string) => void;
  /** Longest wait for the system to settle after the faults stop (default 150 s). */
  settleMaxMs?: number;
  /** A consumer group still lagging this long after the last fault is stuck (default 60 s, the rule). */
  stuckAfterMs?: number;
  /** Aborting ends the chaos phase and skips the settle wait (the stack is still removed). */
  signal?: AbortSignal;
  /** Copy the services' logs here before removing everything (evidence for a finding). */
  keepLogsIn?: string;
}

/** The run's verdict: every count must be 0. */
export interface ChaosReport {
  seed: number;
  minutes: number;
  lostFeedback: number;
  duplicateFeedback: number;
  doubleJobs: number;
  stuckPartitions: number;
  /** (group, partition) pairs the lag check looked at: 0 would make stuckPartitions vacuous. */
  partitionsWatched: number;
  inconsistentDecisions: number;
  danglingVersions: number;
  redisBytesPer1kPredictions: number;
  faults: Record<FaultKind, number>;
  /** Faults the nemesis could not inject (then the run does not count). */
  faultErrors: number;
  failpointsFired: number;
  /** Services that exited without being killed (a finding even if the counts are 0). */
  serviceCrashes: number;
  traffic: TrafficStats & { triggers: number; jobsSucceeded: number; experiments: number };
  settled: boolean;
  durationsS: { setup: number; chaos: number; settle: number; total: number };
  /** Evidence for every non-zero count. */
  details: Record<string, string[]>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number): number => Math.round(ms / 100) / 10;

/** The counts that must be 0, computed from the stores now. */
const judge = async (obs: Observer, accepted: Set<string>) => {
  const fb = feedbackFindings(accepted, await obs.ledger());
  const dj = doubleJobs(await obs.jobs());
  const dec = inconsistentDecisions(await obs.decisions());
  const dv = danglingVersions(await obs.versions());
  return { ...fb, ...dj, ...dec, ...dv, details: { lostFeedback: fb.missing, doubleJobs: dj.examples, inconsistentDecisions: dec.examples, danglingVersions: dv.examples } };
};

/**
 * One chaos run: private platform and stack, mixed traffic under the seeded nemesis for
 * `minutes`, then faults off, a settle phase that waits for the stores to agree (or its limit),
 * and the checks. Everything it started is removed before it returns or throws.
 */
export const runChaos = async (o: ChaosOptions): Promise<ChaosReport> => {
  const t0 = Date.now();
  const log = o.log;
  const world = await startChaosWorld({ seed: o.seed, log, keepLogsIn: o.keepLogsIn });
  let observer: Observer | undefined;
  let supervisor: ReturnType<typeof createSupervisor> | undefined;
  try {
    observer = await createObserver(world);
    const obs = observer;
    const setupMs = Date.now() - t0;
    const durationMs = Math.round(o.minutes * 60_000);

    // Redis growth per segment between flushes (a FLUSHALL would otherwise hide what was written before it).
    let redisGrowth = 0;
    let segmentStart = await world.platform.redisUsedMemory();
    const platform = {
      ...world.platform,
      flushRedis: async () => {
        redisGrowth += Math.max(0, (await world.platform.redisUsedMemory()) - segmentStart);
        await world.platform.flushRedis();
        segmentStart = await world.platform.redisUsedMemory();
      },
    };

    log(`chaos for ${o.minutes} min, seed ${o.seed}…`);
    const chaosT0 = Date.now();
    const traffic = startTraffic(world, { seed: o.seed, log });
    supervisor = createSupervisor(world.stack, { t0: chaosT0, log });
    const plan = planFaults(o.seed, durationMs, world.stack.services);
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), durationMs);
    o.signal?.addEventListener('abort', () => stop.abort(), { once: true });
    let faults: FaultRecord[];
    try {
      faults = await runNemesis(plan, { stack: world.stack, platform, supervisor, t0: chaosT0, log }, stop.signal);
      await new Promise<void>((r) => (stop.signal.aborted ? r() : stop.signal.addEventListener('abort', () => r(), { once: true })));
    } finally {
      clearTimeout(timer);
    }
    log('faults off: disarming failpoints, restarting what is down, draining the clients…');
    await supervisor.disarm();
    await supervisor.tick();
    const lastFaultAt = Date.now();
    const settleMax = o.settleMaxMs ?? 150_000;
    const stuckAfter = o.stuckAfterMs ?? 60_000;
    await traffic.stop();
    const chaosMs = Date.now() - chaosT0;

    // Settle: wait until the stores agree (every count 0, no job open, no lag), up to the limit.
    // A read that fails meanwhile (a service still restarting) only means "not settled yet".
    const settleT0 = Date.now();
    const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await read();
      } catch (err) {
        log(`settling: could not read ${what} yet (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
        return undefined;
      }
    };
    // A partition still lagging once the grace after the last fault is over is stuck, even if it
    // catches up later: the first measurement after the grace is the verdict (-1: lagging, grace not over).
    let partitionsWatched = 0;
    let afterGrace: { stuckPartitions: number; examples: string[] } | undefined;
    const lagNow = async (): Promise<{ stuckPartitions: number; examples: string[] }> => {
      if (afterGrace) return afterGrace;
      const graceOver = Date.now() - lastFaultAt >= stuckAfter;
      const lags = await obs.lags();
      partitionsWatched = lags.length;
      const found = stuckPartitions(lags);
      if (graceOver) return (afterGrace = found);
      return found.stuckPartitions > 0 ? { stuckPartitions: -1, examples: found.examples } : found;
    };
    // Settled: clean on two reads in a row, 3 s apart. A job that has just finished still sets off
    // work (its challenger's experiment starts, serving picks up the routing); one clean read can
    // fall just before that, and a read right after it would see a decision half applied for a
    // moment (seen in a fresh-clone run). The verdict is the second clean read.
    let settled = false;
    let cleanReads = 0;
    let settledVerdict: Awaited<ReturnType<typeof judge>> | undefined;
    for (;;) {
      await supervisor.tick();
      const verdict = await attempt('the stores', () => judge(obs, traffic.acceptedIds));
      const stuck = await attempt('the consumer offsets', lagNow);
      const open = await attempt('the training jobs', () => obs.openJobs());
      const clean = verdict !== undefined && verdict.lostFeedback + verdict.duplicateFeedback + verdict.doubleJobs + verdict.inconsistentDecisions + verdict.danglingVersions === 0;
      cleanReads = clean && open === 0 && stuck?.stuckPartitions === 0 ? cleanReads + 1 : 0;
      if (cleanReads >= 2) { settled = true; settledVerdict = verdict; break; }
      if (Date.now() - settleT0 > settleMax || o.signal?.aborted) break;
      if (verdict) log(`settling: ${verdict.lostFeedback} feedback not in the ledger, ${open ?? '?'} jobs open, ${stuck?.stuckPartitions ?? '?'} partitions lagging, ${verdict.inconsistentDecisions} inconsistent decisions, ${verdict.danglingVersions} dangling versions`);
      await sleep(3_000);
    }
    // The verdict: the settled read, or (not settled) one more read, where a failing read fails the run; the lag after the grace.
    const verdict = settledVerdict ?? (await judge(obs, traffic.acceptedIds));
    let stuck = await lagNow();
    if (stuck.stuckPartitions < 0 && !o.signal?.aborted) {
      // Lagging, and the settle limit came before the grace was over: wait it out.
      await sleep(Math.max(0, lastFaultAt + stuckAfter - Date.now()));
      stuck = await lagNow();
    }
    if (stuck.stuckPartitions < 0) stuck = stuckPartitions([]); // interrupted before the grace was over: not judged
    const settleMs = Date.now() - settleT0;
    await supervisor.stop();
    const jobs = await obs.jobs();
    const triggers = Number((await world.pool.query<{ n: string }>("SELECT count(*) AS n FROM aggregator_triggers WHERE status = 'fired'")).rows[0]?.n ?? 0);
    const experiments = Number((await world.pool.query<{ n: string }>('SELECT count(*) AS n FROM ab_experiments')).rows[0]?.n ?? 0);
    redisGrowth += Math.max(0, (await world.platform.redisUsedMemory()) - segmentStart);
    const predictions = traffic.stats.predictions;
    const crashes: Crash[] = supervisor.crashes;
    return {
      seed: o.seed,
      minutes: o.minutes,
      lostFeedback: verdict.lostFeedback,
      duplicateFeedback: verdict.duplicateFeedback,
      doubleJobs: verdict.doubleJobs,
      stuckPartitions: stuck.stuckPartitions,
      partitionsWatched,
      inconsistentDecisions: verdict.inconsistentDecisions,
      danglingVersions: verdict.danglingVersions,
      redisBytesPer1kPredictions: predictions > 0 ? Math.round((redisGrowth / predictions) * 1000) : 0,
      faults: countByKind(faults),
      faultErrors: faults.filter((f) => f.error !== undefined).length,
      failpointsFired: supervisor.failpointsFired.length,
      serviceCrashes: crashes.length,
      traffic: { ...traffic.stats, triggers, jobsSucceeded: jobs.filter((j) => j.state === 'succeeded').length, experiments },
      settled,
      durationsS: { setup: secs(setupMs), chaos: secs(chaosMs), settle: secs(settleMs), total: secs(Date.now() - t0) },
      details: {
        ...Object.fromEntries(Object.entries(verdict.details).filter(([, v]) => v.length > 0)),
        ...(stuck.examples.length ? { stuckPartitions: stuck.examples } : {}),
        ...(crashes.length ? { serviceCrashes: crashes.map((c) => `${c.service} @${secs(c.atMs)}s: ${c.log.split('\n').slice(-3).join(' | ')}`) } : {}),
        ...(faults.some((f) => f.error) ? { faultErrors: faults.filter((f) => f.error).map((f) => `${f.kind} ${f.target}: ${f.error}`) } : {}),
      },
    };
  } finally {
    await supervisor?.stop().catch(() => undefined);
    await observer?.close().catch(() => undefined);
    log('removing the stack and the private platform…');
    await world.close();
  }
};
