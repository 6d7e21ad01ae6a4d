import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@flywheel/local-stack';
import { createRedis, type Redis } from '@flywheel/redis';
import { S3_LOCAL_CREDENTIALS, startS3Local, type S3Local } from '@flywheel/s3-local';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * PostgreSQL, Redis, a Kafka-protocol mock broker and S3 of one chaos run alone. The nemesis
 * restarts, flushes and freezes them, which must never touch the machine's shared stores that
 * other tests run against; close() removes every process and folder it made.
 */
export interface PrivatePlatform {
  /** The temp folder holding every store's data (removed by close). */
  readonly dir: string;
  /** What startLocalStack takes as platformEnv. */
  readonly env: Record<string, string>;
  readonly redis: Redis;
  /** `pg_ctl restart -m fast`: every connection is cut, the data stays (pg_ctlcluster restart of a private cluster). */
  restartPostgres(): Promise<void>;
  /** FLUSHALL on the private redis-server. */
  flushRedis(): Promise<void>;
  /** The broker stops answering (SIGSTOP of the kcat process holding the mock cluster); resumeKafka undoes it. */
  pauseKafka(): void;
  resumeKafka(): void;
  /** Bytes of Redis's data set (INFO used_memory_dataset: used memory less connection buffers and overhead). */
  redisUsedMemory(): Promise<number>;
  close(): Promise<void>;
}

const waitUntil = async (what: string, ok: () => Promise<boolean>, timeoutMs: number, failFast?: () => string | undefined): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ok().catch(() => false)) return;
    const dead = failFast?.();
    if (dead !== undefined) throw new Error(`${what}: ${dead}`);
    if (Date.now() > deadline) throw new Error(`${what}: not up after ${timeoutMs} ms`);
    await sleep(100);
  }
};

/**
 * PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` account (the
 * Debian package creates it) and every pg_ctl call runs as that user.
 */
const asPgUser = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];

interface Cleanup { what: string; fn: () => Promise<unknown> }

/** Starts the four stores (each on a free port, all data in one temp folder) or removes what it started. */
export const startPrivatePlatform = async (o: { log: (line: string) => void }): Promise<PrivatePlatform> => {
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-chaos-'));
  const cleanups: Cleanup[] = [];
  const children: ChildProcess[] = [];
  let pgDirStarted: string | undefined;
  // Last resort when the process ends without close() (a test runner's timeout, process.exit):
  // nothing of the platform may outlive it. Synchronous, as an 'exit' listener must be.
  const onExit = (): void => {
    for (const c of children) {
      try {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
      } catch { /* already gone */ }
    }
    if (pgDirStarted !== undefined) {
      try {
        const [cmd, args] = asPgUser('pg_ctl', ['-D', pgDirStarted, '-m', 'immediate', '-w', 'stop']);
        execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
      } catch { /* already stopped */ }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const close = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    const failures: string[] = [];
    for (const c of cleanups.reverse()) {
      try {
        await c.fn();
      } catch (err) {
        failures.push(`${c.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    cleanups.length = 0;
    rmSync(dir, { recursive: true, force: true });
    if (failures.length > 0) throw new Error(`the private chaos platform left things behind:\n  ${failures.join('\n  ')}`);
  };
  try {
    // PostgreSQL: initdb into the temp folder, trust auth, no fsync (the data is thrown away).
    const pgDir = join(dir, 'pg');
    if (process.getuid?.() === 0) chownSync(dir, ...(await pgIds()));
    const pgPort = await freePort();
    const pgOpts = `-p ${pgPort} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
    const pgCtl = async (...args: string[]): Promise<void> => {
      const [cmd, a] = asPgUser('pg_ctl', ['-D', pgDir, '-l', join(dir, 'postgres.log'), ...args]);
      await run(cmd, a, { timeout: 60_000 });
    };
    const [initCmd, initArgs] = asPgUser('initdb', ['-D', pgDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await run(initCmd, initArgs, { timeout: 120_000 });
    await pgCtl('-o', pgOpts, '-w', 'start');
    pgDirStarted = pgDir;
    cleanups.push({ what: 'stop the private PostgreSQL', fn: () => pgCtl('-m', 'immediate', '-w', 'stop') });
    o.log(`private PostgreSQL on 127.0.0.1:${pgPort} (${pgDir})`);

    // Redis: a foreground child without persistence.
    const redisPort = await freePort();
    const redisChild = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    children.push(redisChild);
    cleanups.push({ what: 'stop the private redis-server', fn: () => stopChild(redisChild) });
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const redis = createRedis(redisUrl, { name: 'bench-chaos' });
    redis.on('error', () => undefined); // refused while it starts and while nothing else is wrong
    cleanups.push({ what: 'close the Redis client', fn: async () => { redis.disconnect(); } });
    await waitUntil('private redis-server', async () => (await redis.ping()) === 'PONG', 10_000, () => (redisChild.exitCode !== null ? `exited ${redisChild.exitCode}` : undefined));
    o.log(`private Redis on ${redisUrl}`);

    // Kafka: librdkafka's mock cluster inside kcat; one broker, so a SIGSTOP freezes all of it.
    const kcat = spawn('kcat', ['-b', 'x:1', '-X', 'test.mock.num.brokers=1', '-C', '-t', '_keepalive', '-o', 'end', '-u'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(kcat);
    cleanups.push({ what: 'stop the private kcat mock broker', fn: () => stopChild(kcat, true) });
    let kcatErr = '';
    kcat.stderr?.on('data', (b: Buffer) => { kcatErr += b.toString(); });
    await waitUntil('kcat mock cluster', async () => /replaced with [0-9.:,]+/.test(kcatErr), 10_000, () => (kcat.exitCode !== null ? `exited: ${kcatErr.slice(-300)}` : undefined));
    const brokers = /replaced with ([0-9.:,]+)/.exec(kcatErr)?.[1] as string;
    o.log(`private Kafka mock broker ${brokers}`);

    // S3: s3rver in this process, objects in the temp folder.
    const bucket = 'flywheel';
    const s3: S3Local = await startS3Local({ port: 0, directory: join(dir, 's3'), buckets: [bucket] });
    cleanups.push({ what: 'stop the private S3', fn: () => s3.close() });
    o.log(`private S3 on ${s3.endpoint}`);

    const kcatPid = kcat.pid as number;
    return {
      dir,
      env: {
        POSTGRES_URL: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
        REDIS_URL: redisUrl,
        KAFKA_BROKERS: brokers,
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY: S3_LOCAL_CREDENTIALS.accessKey,
        S3_SECRET_KEY: S3_LOCAL_CREDENTIALS.secretKey,
        S3_BUCKET: bucket,
      },
      redis,
      restartPostgres: () => pgCtl('-o', pgOpts, '-m', 'fast', '-w', 'restart'),
      flushRedis: async () => { await redis.flushall(); },
      pauseKafka: () => { process.kill(kcatPid, 'SIGSTOP'); },
      resumeKafka: () => { process.kill(kcatPid, 'SIGCONT'); },
      redisUsedMemory: async () => Number(/used_memory_dataset:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN),
      close,
    };
  } catch (err) {
    await close().catch((closeErr: unknown) => { throw new AggregateError([err, closeErr], 'the private chaos platform failed to start, then failed to clean up'); });
    throw err;
  }
};

const pgIds = async (): Promise<[number, number]> => {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('running as root needs a "postgres" account to own the private cluster (apt-get install postgresql creates it)');
  return [uid, gid];
};

const stopChild = async (child: ChildProcess, resume = false): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  if (resume) child.kill('SIGCONT'); // a stopped process does not act on SIGTERM until continued
  child.kill('SIGKILL');
  await exited;
};
