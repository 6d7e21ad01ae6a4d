import { writeSync } from 'node:fs';
import { ConfigError, DependencyDown } from './errors.js';

/**
 * Named failpoints (the technique of FoundationDB, etcd's gofail and TiKV's fail-rs): a test arms
 * `FLYWHEEL_FAILPOINTS=ab-router.after-decision=exit` and the process stops at exactly that line,
 * however fast or slow the machine is. Unarmed, `failpoint()` is one comparison against null.
 *
 * Spec: `name=action[;name=action…]`, action `[K+][N*](exit|throw|stop|off)`:
 *  - `exit`  SIGKILLs the process itself: a crash, no shutdown hooks, no flushing;
 *  - `throw` throws DependencyDown (retriable), as if a store failed at that line;
 *  - `stop`  SIGSTOPs the process (a freeze; the test sends SIGCONT);
 *  - `K+` lets the first K hits pass; `N*` fires at most N times (default: every hit).
 */
export type FailpointAction = 'exit' | 'throw' | 'stop' | 'off';
export interface FailpointRule { action: FailpointAction; skip: number; times: number }

const RULE = /^(?:(\d+)\+)?(?:(\d+)\*)?(exit|throw|stop|off)$/;
const NAME = /^[a-z0-9][a-z0-9.-]*$/;

/** Parses a failpoint spec; an unreadable one is a ConfigError naming the bad part. */
export const parseFailpoints = (spec: string): Map<string, FailpointRule> => {
  const out = new Map<string, FailpointRule>();
  for (const part of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = eq > 0 ? part.slice(0, eq).trim() : '';
    const m = RULE.exec(eq > 0 ? part.slice(eq + 1).trim() : '');
    if (!NAME.test(name) || !m) {
      throw new ConfigError(`FLYWHEEL_FAILPOINTS: cannot read "${part}"; write name=[K+][N*](exit|throw|stop|off), e.g. ab-router.after-decision=exit`);
    }
    out.set(name, { action: m[3] as FailpointAction, skip: Number(m[1] ?? 0), times: m[2] === undefined ? Infinity : Number(m[2]) });
  }
  return out;
};

let armed: Map<string, FailpointRule & { hits: number; fired: number }> | null = null;

/** Arms the failpoints of `spec` for this process (undefined or empty disarms all). */
export const armFailpoints = (spec: string | undefined): string[] => {
  const rules = spec ? parseFailpoints(spec) : new Map<string, FailpointRule>();
  armed = rules.size === 0 ? null : new Map([...rules].map(([k, r]) => [k, { ...r, hits: 0, fired: 0 }]));
  return [...rules.keys()];
};

/** Marks a crash point. Does nothing unless a test armed `name`. */
export const failpoint = (name: string): void => {
  if (armed === null) return;
  const r = armed.get(name);
  if (!r || r.action === 'off') return;
  r.hits += 1;
  if (r.hits <= r.skip || r.fired >= r.times) return;
  r.fired += 1;
  // Written synchronously before acting, so the test (and an operator) can see which line fired.
  writeSync(2, `failpoint ${name} fired: ${r.action} (pid ${process.pid})\n`);
  switch (r.action) {
    case 'exit': process.kill(process.pid, 'SIGKILL'); break;
    case 'stop': process.kill(process.pid, 'SIGSTOP'); break;
    case 'throw': throw new DependencyDown(`failpoint ${name} fired (FLYWHEEL_FAILPOINTS); retry`);
  }
};
