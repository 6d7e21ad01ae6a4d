import { spawn, type ChildProcess } from 'node:child_process';
import { sleep } from './waitFor.js';

/**
 * A Kafka-protocol mock cluster (librdkafka's, inside kcat) of this test alone, so a test can take
 * the broker away without touching the shared one.
 *
 * Why SIGSTOP/SIGCONT and not a TCP proxy: the mock broker advertises its own host:port in
 * metadata, so clients bootstrap through a proxy and then connect to the broker directly; and a
 * restarted mock gets a new port and loses every topic. Stopping the process keeps its port and
 * data: while stopped the kernel still accepts connections but nothing answers (requests time
 * out, like a hung or partitioned broker); after SIGCONT the same broker answers again.
 */
export interface PrivateKafka {
  readonly brokers: string;
  /** The broker stops answering (SIGSTOP). */
  pause(): void;
  /** It answers again, with its data (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

/** Starts `kcat` with a one-broker mock cluster and reads its address from the log line it prints. */
export const startPrivateKafka = async (): Promise<PrivateKafka> => {
  const child: ChildProcess = spawn('kcat', ['-b', 'x:1', '-X', 'test.mock.num.brokers=1', '-C', '-t', '_keepalive', '-o', 'end', '-u'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
  const deadline = Date.now() + 10_000;
  let brokers = '';
  while (brokers === '') {
    brokers = /replaced with ([0-9.:,]+)/.exec(stderr)?.[1] ?? '';
    if (brokers !== '') break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kcat mock cluster did not print its address (is kcat with librdkafka >= 1.9 installed?): ${stderr.slice(-500)}`);
    }
    await sleep(100);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('kcat did not start');
  return {
    brokers,
    pause: () => { process.kill(pid, 'SIGSTOP'); },
    resume: () => { process.kill(pid, 'SIGCONT'); },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(pid, 'SIGCONT');
      child.kill('SIGKILL');
      await exited;
    },
  };
};
