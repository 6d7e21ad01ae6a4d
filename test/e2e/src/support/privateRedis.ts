import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, releasePort } from '@flywheel/local-stack';
import { sleep } from './waitFor.js';

/** A redis-server of this test alone, so it may be flushed without touching anyone else's keys. */
export interface PrivateRedis {
  readonly url: string;
  /** A client for assertions and faults (FLUSHALL). */
  readonly client: Redis;
  stop(): Promise<void>;
}

/** Starts `redis-server` in the foreground (a child we can stop by pid) with no persistence. */
export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {}); // refused connects while it starts; commands still reject
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start: ${(err as Error).message}; is redis-server installed?`);
      client.disconnect();
      await sleep(100);
    }
  }
  return {
    url,
    client,
    stop: async () => {
      client.disconnect();
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      releasePort(port);
    },
  };
};
