import type { LocalStack, ServiceName } from '@flywheel/local-stack';
import type { FaultKind, PlannedFault } from './faultPlan.js';
import type { PrivatePlatform } from './privatePlatform.js';
import type { Supervisor } from './supervisor.js';

/** A fault as it happened (ms since the chaos phase began). */
export interface FaultRecord {
  kind: FaultKind;
  target: string;
  startedMs: number;
  endedMs: number;
  /** Set when the nemesis could not do it (the run then does not count). */
  error?: string;
}

export interface NemesisDeps {
  stack: LocalStack;
  platform: PrivatePlatform;
  supervisor: Supervisor;
  t0: number;
  log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Does one fault and waits until it is over (the killed service back, the broker resumed). */
const inject = async (f: PlannedFault, d: NemesisDeps): Promise<string> => {
  const svc = f.service as ServiceName;
  switch (f.kind) {
    case 'kill':
      await d.supervisor.hold(svc, async () => {
        await d.stack.kill(svc, 'SIGKILL');
        await d.supervisor.ensureUp(svc);
      });
      return svc;
    case 'failpoint':
      await d.supervisor.hold(svc, async () => {
        await d.stack.armFailpoints(svc, `${f.failpoint}=1*exit`);
        d.supervisor.armed(svc, f.failpoint as string);
      });
      return `${svc}:${f.failpoint}`;
    case 'pauseBroker':
      d.platform.pauseKafka();
      try {
        await sleep(f.holdMs ?? 3_000);
      } finally {
        d.platform.resumeKafka();
      }
      return `kafka ${f.holdMs} ms`;
    case 'restartPostgres':
      await d.platform.restartPostgres();
      return 'postgres';
    case 'flushRedis':
      await d.platform.flushRedis();
      return 'redis';
  }
};

/** Runs the plan until its end or `stop`; every fault is finished (nothing left frozen) when it resolves. */
export const runNemesis = async (plan: readonly PlannedFault[], d: NemesisDeps, stop: AbortSignal): Promise<FaultRecord[]> => {
  const done: FaultRecord[] = [];
  for (const f of plan) {
    const wait = d.t0 + f.atMs - Date.now();
    if (wait > 0) {
      await new Promise<void>((r) => {
        const onAbort = (): void => { clearTimeout(t); r(); };
        const t = setTimeout(() => { stop.removeEventListener('abort', onAbort); r(); }, wait);
        stop.addEventListener('abort', onAbort, { once: true });
      });
    }
    if (stop.aborted) break;
    const startedMs = Date.now() - d.t0;
    d.log(`fault @${(startedMs / 1000).toFixed(1)}s: ${f.kind}${f.service ? ` ${f.service}` : ''}${f.failpoint ? ` ${f.failpoint}` : ''}`);
    try {
      const target = await inject(f, d);
      done.push({ kind: f.kind, target, startedMs, endedMs: Date.now() - d.t0 });
    } catch (err) {
      const error = err instanceof Error ? err.message.split('\n').slice(0, 3).join(' / ') : String(err);
      d.log(`fault ${f.kind} failed: ${error}`);
      done.push({ kind: f.kind, target: f.service ?? f.kind, startedMs, endedMs: Date.now() - d.t0, error });
    }
  }
  return done;
};
