import type { EventOf } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
import { predictionEvent } from './predictionEvent.js';
import type { ServingMetrics } from './servingMetrics.js';

/** One answer as the request path hands it over; the envelope is built at flush time, off the request path. */
export interface PredictionRecord {
  model: string;
  predictionId: string;
  modelVersion: string;
  variant: 'champion' | 'challenger';
  subjectId: string | undefined;
  experimentId: string | undefined;
  /** The API client the answer went to (PredictionMade.client). */
  client?: string | undefined;
  text: string;
  label: string;
  confidence: number;
  topK: { label: string; probability: number }[] | undefined;
  latencyMs: number;
  /** epoch ms of the answer */
  time: number;
  /** The shadow version's answer to the same text (PredictionMade.shadow), added by the shadow scorer. */
  shadow?: { modelVersion: string; label: string; confidence: number; experimentId?: string | undefined } | undefined;
}

/**
 * Batch size and pipelining main.ts uses with the worker sink: a batch costs the loop one structured
 * clone (~0.2 ms for 256 rows), small enough not to show in the tail; four in flight keep Kafka busy.
 */
export const PREDICTION_BATCH = 256;
export const PREDICTION_BATCHES_IN_FLIGHT = 4;

/** The part of the bus publisher the in-thread sink needs. */
export interface PredictionPublisher {
  publishMany(topic: 'predictions', events: readonly EventOf<'predictions'>[]): Promise<void>;
}

/**
 * Where the log hands its batches: it builds the events and publishes them, resolving once Kafka
 * has them (rejecting loses the batch, which the log counts). main.ts uses a worker thread
 * (workerPredictionSink), so encoding and publishing never run on the request loop.
 */
export interface PredictionSink {
  send(records: PredictionRecord[]): Promise<void>;
  /** Releases what the sink holds (the worker and its producer), after the log drained. */
  close?(): Promise<void>;
}

/** Builds and publishes the events in this thread: tests, and benches that replace the publisher. */
export const publisherSink = (publisher: PredictionPublisher, source: string): PredictionSink => ({
  send: (records) => publisher.publishMany('predictions', records.map((r) => predictionEvent(r, source))),
});

export interface PredictionLogOptions {
  sink: PredictionSink;
  metrics: ServingMetrics;
  logger: Logger;
  /** Events held at most; when full the oldest are overwritten, counted as dropped and logged. */
  capacity?: number;
  /** A flush is scheduled (setImmediate, after the current turn) as soon as this many events wait. */
  flushAt?: number;
  /** Events per batch handed to the sink. */
  maxBatch?: number;
  /** Batches the sink may hold at once (the worker pipelines them to Kafka). */
  maxInFlight?: number;
}

/**
 * A bounded ring buffer of prediction events handed to a sink in batches (by main.ts's
 * `prediction-log` schedule calling flush(), and on the next turn when `flushAt` events wait).
 * Recording is O(1), never waits and never encodes: the request's turn only stores the record.
 * When Kafka is slow the buffer overwrites its oldest events, and
 * `flywheel_serving_predictions_dropped_total{reason="buffer_full"}` (plus a warning, at most one
 * per 10 s) says how many the log lost; a failed batch is counted as `reason="publish_failed"`.
 * Answers never wait for the log.
 */
export class PredictionLog {
  private readonly ring: (PredictionRecord | undefined)[];
  private head = 0; // index of the oldest event
  private size = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private scheduled = false;
  private readonly lastWarn = { buffer_full: 0, publish_failed: 0 };
  private droppedSinceWarn = 0;
  private readonly capacity: number;
  private readonly flushAt: number;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(private readonly opts: PredictionLogOptions) {
    this.capacity = opts.capacity ?? 20_000;
    this.flushAt = opts.flushAt ?? 500;
    this.maxBatch = opts.maxBatch ?? 1_000;
    this.maxInFlight = opts.maxInFlight ?? 1;
    this.ring = new Array<PredictionRecord | undefined>(this.capacity);
  }

  /** Hands over what waits now (as many batches as may be in flight) and awaits them; never rejects. */
  async flush(): Promise<void> {
    this.kick();
    await Promise.all(this.inFlight);
  }

  /** Events waiting to be handed to the sink. */
  get pending(): number {
    return this.size;
  }

  record(p: PredictionRecord): void {
    if (this.size === this.capacity) {
      // Full: the oldest event gives way, so the log keeps the most recent traffic.
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      this.opts.metrics.predictionsDropped.inc({ reason: 'buffer_full' });
      this.droppedSinceWarn++;
      if (Date.now() - this.lastWarn.buffer_full > 10_000) {
        this.lastWarn.buffer_full = Date.now();
        this.opts.logger.warn({ dropped: this.droppedSinceWarn, capacity: this.capacity }, 'the prediction log is full (Kafka is slower than the traffic): its oldest events were dropped; answers are unaffected (raise PREDICTION_BUFFER or fix the brokers)');
        this.droppedSinceWarn = 0;
      }
    }
    this.ring[(this.head + this.size) % this.capacity] = p;
    this.size++;
    if (this.size >= this.flushAt && !this.scheduled) {
      // Not in this turn: the request that filled the batch answers first.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.kick();
      });
    }
  }

  /** Hands over everything buffered now (used at shutdown); gives up after `timeoutMs`. */
  async drain(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.size > 0 || this.inFlight.size > 0) && Date.now() < deadline) {
      this.kick();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.race(this.inFlight), new Promise((r) => (timer = setTimeout(r, Math.max(1, deadline - Date.now()))))]);
      clearTimeout(timer);
    }
  }

  /** Drains what it can at shutdown (after the flush schedule stopped), then closes the sink. */
  async stop(timeoutMs = 5_000): Promise<void> {
    await this.drain(timeoutMs);
    await this.opts.sink.close?.();
  }

  private kick(): void {
    while (this.inFlight.size < this.maxInFlight && this.size > 0) {
      const batch = this.take();
      const sent: Promise<void> = this.send(batch).finally(() => {
        this.inFlight.delete(sent);
        this.opts.metrics.predictionsBuffered.set(this.size);
        if (this.size >= this.flushAt) this.kick();
      });
      this.inFlight.add(sent);
    }
  }

  private take(): PredictionRecord[] {
    const n = Math.min(this.size, this.maxBatch);
    const batch: PredictionRecord[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const idx = (this.head + i) % this.capacity;
      batch[i] = this.ring[idx] as PredictionRecord;
      this.ring[idx] = undefined;
    }
    this.head = (this.head + n) % this.capacity;
    this.size -= n;
    return batch;
  }

  private async send(batch: PredictionRecord[]): Promise<void> {
    try {
      await this.opts.sink.send(batch);
    } catch (err) {
      this.opts.metrics.predictionsDropped.inc({ reason: 'publish_failed' }, batch.length);
      if (Date.now() - this.lastWarn.publish_failed > 10_000) {
        this.lastWarn.publish_failed = Date.now();
        this.opts.logger.warn({ err, lost: batch.length }, 'publishing predictions failed; the batch is dropped from the log (answers are unaffected)');
      }
    }
  }
}
