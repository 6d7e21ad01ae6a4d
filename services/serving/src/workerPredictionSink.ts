import { Worker } from 'node:worker_threads';
import type { KafkaSecurityConfig } from '@flywheel/bus';
import type { Logger } from '@flywheel/runtime';
import type { PredictionRecord, PredictionSink } from './PredictionLog.js';

/** What the publish worker is started with: its own Kafka producer's settings and the events' source. */
export interface PublishWorkerData {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  security: KafkaSecurityConfig;
  /** CloudEvents source attribute, e.g. /flywheel/serving/<host> */
  source: string;
  logLevel: string;
}

/** The worker's settings from serving's config: the same brokers, prefix and TLS/SASL as svc.bus(). */
export const publishWorkerData = (c: KafkaSecurityConfig & { KAFKA_BROKERS: string[]; TOPIC_PREFIX: string; LOG_LEVEL: string }, source: string): PublishWorkerData => ({
  brokers: c.KAFKA_BROKERS, clientId: 'serving-predictions', topicPrefix: c.TOPIC_PREFIX, source, logLevel: c.LOG_LEVEL,
  security: { KAFKA_TLS: c.KAFKA_TLS, KAFKA_TLS_CA_FILE: c.KAFKA_TLS_CA_FILE, KAFKA_SASL_MECHANISM: c.KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME: c.KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: c.KAFKA_SASL_PASSWORD },
});

/** Messages to the worker. */
export type ToPublishWorker = { kind: 'send'; id: number; records: PredictionRecord[] } | { kind: 'close' };
/** Messages from the worker. */
export type FromPublishWorker = { kind: 'sent'; id: number } | { kind: 'failed'; id: number; message: string } | { kind: 'closed' };

/** The publish worker's entry next to this module: dist/*.js when built, src/*.ts under tsx or vitest. */
export const publishWorkerUrl = (): URL =>
  new URL(import.meta.url.endsWith('.ts') ? './predictionPublishWorker.ts' : './predictionPublishWorker.js', import.meta.url);

/**
 * A PredictionSink in a worker thread: the batch is posted (one structured clone) and the worker
 * builds the envelopes, validates them and publishes them with its own producer, so the request
 * loop pays neither zod nor kafkajs. A send resolves when Kafka acknowledged it and rejects when
 * the publish failed or the worker died (the log counts those rows as dropped); a dead worker is
 * started again on the next send.
 */
export const workerPredictionSink = (o: { data: PublishWorkerData; logger: Logger; url?: URL }): PredictionSink => {
  const url = o.url ?? publishWorkerUrl();
  // A .ts entry (tests, benches) needs the tsx loader in the worker too; node 20 does not carry --import hooks into workers.
  const viaTsx = url.pathname.endsWith('.ts');
  const pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let worker: Worker | undefined;
  let nextId = 0;
  let closing: Promise<void> | undefined;

  const failAll = (why: string): void => {
    for (const p of pending.values()) p.reject(new Error(why));
    pending.clear();
  };
  const start = (): Worker => {
    const w = viaTsx
      ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData: o.data })
      : new Worker(url, { workerData: o.data });
    w.on('message', (m: FromPublishWorker) => {
      if (m.kind === 'closed') return;
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (pending.size === 0) w.unref();
      if (m.kind === 'sent') p?.resolve();
      else p?.reject(new Error(m.message));
    });
    w.on('error', (err) => o.logger.error({ err }, 'the prediction publish worker failed; its batches in flight are dropped and it is started again on the next batch'));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(`the prediction publish worker exited (code ${code}) before Kafka acknowledged this batch`);
    });
    // An idle worker does not keep the process alive; one with batches in flight does (see send).
    w.unref();
    return w;
  };

  // Started now, so its producer is connected before the first answers are logged.
  worker = start();
  return {
    send(records) {
      if (closing !== undefined) return Promise.reject(new Error('the prediction publish worker is closed'));
      worker ??= start();
      const id = nextId++;
      const done = new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
      worker.ref();
      worker.postMessage({ kind: 'send', id, records } satisfies ToPublishWorker);
      return done;
    },
    close() {
      closing ??= (async () => {
        const w = worker;
        if (w === undefined) return;
        const exited = new Promise<void>((r) => w.once('exit', () => r()));
        w.ref();
        w.postMessage({ kind: 'close' } satisfies ToPublishWorker);
        // The worker disconnects its producer and exits; a hung one is ended after 5 s.
        const timer = setTimeout(() => void w.terminate(), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
};
