import type { LocalStack, ServiceName } from '@flywheel/local-stack';

/** A service that exited without the nemesis killing it: a finding, with its last log lines. */
export interface Crash { service: string; atMs: number; log: string }

/**
 * Keeps every service running while the nemesis works: restarts one that a failpoint took down,
 * and one that died on its own (recorded as a crash). The nemesis holds a service while it acts
 * on it, so the two never start the same process twice.
 */
export interface Supervisor {
  /** Runs `fn` with `svc` held (the supervisor leaves it alone meanwhile). */
  hold<T>(svc: ServiceName, fn: () => Promise<T>): Promise<T>;
  /** Starts `svc` if it is down and waits until ready, retrying a start that died (a store may be restarting). */
  ensureUp(svc: ServiceName): Promise<void>;
  /** Marks `svc` as started with failpoint `name`: its exit there is expected. */
  armed(svc: ServiceName, name: string): void;
  /** Restarts services whose failpoint has not fired yet without it, so no fault outlives the chaos phase. */
  disarm(): Promise<void>;
  /** Checks once (the loop calls it every 500 ms) and waits for restarts in flight. */
  tick(): Promise<void>;
  readonly crashes: Crash[];
  readonly failpointsFired: { service: string; failpoint: string; atMs: number }[];
  stop(): Promise<void>;
}

export const createSupervisor = (stack: LocalStack, o: { t0: number; log: (line: string) => void }): Supervisor => {
  const busy = new Set<ServiceName>();
  const armedAt = new Map<ServiceName, string>();
  const crashes: Crash[] = [];
  const failpointsFired: Supervisor['failpointsFired'] = [];
  const at = (): number => Date.now() - o.t0;

  const hold = async <T>(svc: ServiceName, fn: () => Promise<T>): Promise<T> => {
    while (busy.has(svc)) await new Promise((r) => setTimeout(r, 50));
    busy.add(svc);
    try {
      return await fn();
    } finally {
      busy.delete(svc);
    }
  };
  const ensureUp = async (svc: ServiceName): Promise<void> => {
    armedAt.delete(svc); // a plain start: whatever was armed is gone with the old process
    for (let attempt = 1; ; attempt++) {
      try {
        await stack.start(svc);
        return;
      } catch (err) {
        if (attempt >= 4) throw err;
        o.log(`${svc} did not come up (attempt ${attempt}): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}; retrying`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };
  let inFlight: Promise<void> = Promise.resolve();
  const check = async (): Promise<void> => {
    for (const svc of stack.services) {
      if (busy.has(svc) || stack.running(svc)) continue;
      const name = armedAt.get(svc);
      if (name !== undefined && stack.logTail(svc, 400).includes(`failpoint ${name} fired`)) {
        failpointsFired.push({ service: svc, failpoint: name, atMs: at() });
        o.log(`failpoint ${name} fired in ${svc}; restarting it`);
      } else {
        crashes.push({ service: svc, atMs: at(), log: stack.logTail(svc, 15) });
        o.log(`${svc} exited on its own; restarting it. Last lines:\n${stack.logTail(svc, 8)}`);
      }
      armedAt.delete(svc);
      await hold(svc, () => ensureUp(svc));
    }
  };
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      inFlight = check().catch((err: unknown) => { o.log(`supervisor: ${err instanceof Error ? err.message : String(err)}`); });
      await inFlight;
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const running = loop();
  return {
    hold,
    ensureUp,
    armed: (svc, name) => { armedAt.set(svc, name); },
    disarm: async () => {
      for (const [svc, name] of [...armedAt]) {
        await hold(svc, async () => {
          if (!armedAt.has(svc)) return;
          armedAt.delete(svc);
          if (stack.running(svc)) {
            o.log(`disarming ${name} in ${svc} (restart without failpoints)`);
            await stack.stop(svc);
          }
          await ensureUp(svc);
        });
      }
    },
    tick: async () => { await inFlight; await check(); },
    crashes,
    failpointsFired,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
};
