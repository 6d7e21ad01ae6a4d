// Leader election on the real PostgreSQL: of two contenders exactly one leads, and when the leader's
// session is killed (pg_terminate_backend) the other takes over at its next check.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@flywheel/runtime';
import { createPgLeadership, createPool, isLeadershipHeld, type PgLeadership } from '../index.js';

const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = randomUUID().slice(0, 8);
const logger = createLogger({ service: 'leadership-itest', level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
const admin = createPool(url, { max: 1, applicationName: `leadership-itest-${run}-admin` });
const pool = createPool(url, { max: 2, applicationName: `leadership-itest-${run}` });
const contenders: PgLeadership[] = [];
afterAll(async () => {
  for (const c of contenders) await c.close();
  await pool.end();
  await admin.end();
});

/** The backend pid holding this key's lock (the leader's session), read from pg_locks by another session. */
const leaderPid = async (): Promise<number | undefined> => {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND a.application_name LIKE $1`,
    [`flywheel-leader:leadership-${run}%`],
  );
  return rows[0]?.pid;
};

const eventually = async (what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('createPgLeadership (real PostgreSQL)', () => {
  it('elects exactly one of two contenders; when the leader session is killed the other takes over', async () => {
    const changes: string[] = [];
    const contender = (name: string): PgLeadership => {
      const c = createPgLeadership({ connectionString: url, key: `leadership-${run}`, logger, onChange: (l) => changes.push(`${name}:${l ? 'leader' : 'follower'}`) });
      contenders.push(c);
      return c;
    };
    const [a, b] = [contender('a'), contender('b')];
    const first = await Promise.all([a.check(), b.check()]);
    expect(first.filter(Boolean)).toHaveLength(1);
    const [leader, follower] = first[0] ? [a, b] : [b, a];
    // Checks again: nothing moves while the leader's session lives.
    expect(await leader.check()).toBe(true);
    expect(await follower.check()).toBe(false);
    expect(leader.isLeader()).toBe(true);
    expect(follower.isLeader()).toBe(false);

    const pid = await leaderPid();
    expect(pid).toBeDefined();
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    // The killed session's lock is gone with it (once the backend has exited): the follower wins, the old leader knows it lost.
    await eventually('the follower to take over', () => follower.check());
    expect(await leader.check()).toBe(false);
    expect(leader.isLeader()).toBe(false);
    expect(await follower.check()).toBe(true);
    expect(changes.filter((c) => c.endsWith(':leader'))).toHaveLength(2);

    // Giving up (close) hands over too.
    await follower.close();
    expect(await leader.check()).toBe(true);
  });

  it('keys are independent, and a pool-backed contender holds its lock on a client taken out of the pool', async () => {
    const x = createPgLeadership({ pool, key: `leadership-${run}-x`, logger });
    const y = createPgLeadership({ pool, key: `leadership-${run}-y`, logger });
    const x2 = createPgLeadership({ connectionString: url, key: `leadership-${run}-x`, logger });
    contenders.push(x, y, x2);
    expect(await isLeadershipHeld(admin, `leadership-${run}-x`)).toBe(false);
    expect(await x.check()).toBe(true);
    expect(await y.check()).toBe(true);
    expect(await x2.check()).toBe(false);
    expect(await isLeadershipHeld(admin, `leadership-${run}-x`)).toBe(true); // seen from outside, without taking it
    expect(await x.check()).toBe(true);
    await x.close();
    expect(await x2.check()).toBe(true);
    await x2.close();
    expect(await isLeadershipHeld(admin, `leadership-${run}-x`)).toBe(false);
    expect(() => createPgLeadership({ key: 'k', logger })).toThrow(/exactly one of pool or connectionString/);
  });

  it('a process killed with SIGKILL loses its leadership at once (what a trainer owner lease relies on)', async () => {
    const key = `leadership-${run}-killed`;
    const entry = fileURLToPath(new URL('./createPgLeadership.ts', import.meta.url));
    // A separate process leads, then is killed without any chance to clean up.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { createPgLeadership } = await import(${JSON.stringify(entry)});
      const { createLogger } = await import('@flywheel/runtime');
      const l = createPgLeadership({ connectionString: process.env.URL, key: process.env.KEY, logger: createLogger({ service: 'child', level: 'silent' }) });
      console.log(await l.check() ? 'leader' : 'follower');
      setInterval(() => {}, 1000);
    `], { env: { ...process.env, URL: url, KEY: key }, stdio: ['ignore', 'pipe', 'inherit'] });
    const said = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
    expect(said).toBe('leader');
    expect(await isLeadershipHeld(admin, key)).toBe(true);
    child.kill('SIGKILL');
    await eventually('the killed leader\'s lock to be released', async () => !(await isLeadershipHeld(admin, key)));
  });
});
