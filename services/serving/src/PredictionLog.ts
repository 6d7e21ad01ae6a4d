import { SPEC_VERSION, type EventOf } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
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

/** The part of the bus publisher the log needs. */
export interface PredictionPublisher {
  publishMany(topic: 'predictions', events: readonly EventOf<'predictions'>[]): Promise<void>;
}

export interface PredictionLogOptions {
  publisher: PredictionPublisher;
  metrics: ServingMetrics;
  logger: Logger;
  /** CloudEvents source attribute, e.g. /flywheel/serving/<host> */
  source: string;
  /** Events held at most; when full the oldest are overwritten and counted as dropped. */
  capacity?: number;
  /** A flush starts as soon as this many events wait. */
  flushAt?: number;
  /** Events per publish call. */
  maxBatch?: number;
}

/**
 * A bounded ring buffer of prediction events flushed to Kafka in batches (by main.ts's
 * `prediction-log` schedule calling flush(), and at once when `flushAt` events wait). Recording is
 * O(1) and never waits: when Kafka is slow the buffer overwrites its oldest events and
 * `flywheel_serving_predictions_dropped_total{reason="buffer_full"}` says how many the log lost;
 * a failed publish loses its batch (`reason="publish_failed"`). Answers never wait for the log.
 */
export class PredictionLog {
  private readonly ring: (PredictionRecord | undefined)[];
  private head = 0; // index of the oldest event
  private size = 0;
  private flushing: Promise<void> | undefined;
  private lastWarn = 0;
  private readonly capacity: number;
  private readonly flushAt: number;
  private readonly maxBatch: number;

  constructor(private readonly opts: PredictionLogOptions) {
    this.capacity = opts.capacity ?? 20_000;
    this.flushAt = opts.flushAt ?? 500;
    this.maxBatch = opts.maxBatch ?? 1_000;
    this.ring = new Array<PredictionRecord | undefined>(this.capacity);
  }

  /** Publishes one batch of what waits now (or awaits the batch in flight); never rejects. */
  async flush(): Promise<void> {
    this.kick();
    await this.flushing;
  }

  /** Events waiting to be published. */
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
    }
    this.ring[(this.head + this.size) % this.capacity] = p;
    this.size++;
    if (this.size >= this.flushAt) this.kick();
  }

  /** Publishes everything buffered now (used at shutdown); gives up after `timeoutMs`. */
  async drain(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.size > 0 || this.flushing) && Date.now() < deadline) {
      this.kick();
      await Promise.race([this.flushing, new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())))]);
    }
  }

  /** Drains what it can at shutdown (after the flush schedule stopped). */
  async stop(timeoutMs = 5_000): Promise<void> {
    await this.drain(timeoutMs);
  }

  private kick(): void {
    if (this.flushing !== undefined || this.size === 0) return;
    this.flushing = this.publishBatch().finally(() => {
      this.flushing = undefined;
      this.opts.metrics.predictionsBuffered.set(this.size);
      if (this.size >= this.flushAt) this.kick();
    });
  }

  private async publishBatch(): Promise<void> {
    const n = Math.min(this.size, this.maxBatch);
    const events: EventOf<'predictions'>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const idx = (this.head + i) % this.capacity;
      events[i] = toEvent(this.ring[idx] as PredictionRecord, this.opts.source);
      this.ring[idx] = undefined;
    }
    this.head = (this.head + n) % this.capacity;
    this.size -= n;
    try {
      await this.opts.publisher.publishMany('predictions', events);
    } catch (err) {
      this.opts.metrics.predictionsDropped.inc({ reason: 'publish_failed' }, n);
      if (Date.now() - this.lastWarn > 10_000) {
        this.lastWarn = Date.now();
        this.opts.logger.warn({ err, lost: n }, 'publishing predictions failed; the batch is dropped from the log (answers are unaffected)');
      }
    }
  }
}

/** The `predictions` envelope of a record; the publisher validates it against the topic schema. */
const toEvent = (p: PredictionRecord, source: string): EventOf<'predictions'> => {
  const data: Record<string, unknown> = {
    predictionId: p.predictionId,
    modelVersion: p.modelVersion,
    variant: p.variant,
    text: p.text,
    label: p.label,
    confidence: Math.min(1, Math.max(0, p.confidence)),
    latencyMs: p.latencyMs,
  };
  if (p.subjectId !== undefined) data.subjectId = p.subjectId;
  if (p.experimentId !== undefined) data.experimentId = p.experimentId;
  if (p.client !== undefined) data.client = p.client;
  if (p.shadow !== undefined) {
    data.shadow = {
      modelVersion: p.shadow.modelVersion, label: p.shadow.label, confidence: Math.min(1, Math.max(0, p.shadow.confidence)),
      ...(p.shadow.experimentId !== undefined ? { experimentId: p.shadow.experimentId } : {}),
    };
  }
  if (p.topK !== undefined) data.topK = p.topK.map((t) => ({ label: t.label, probability: Math.min(1, Math.max(0, t.probability)) }));
  return {
    specversion: SPEC_VERSION,
    // The prediction id doubles as the event id, so a re-sent batch is deduplicated downstream.
    id: p.predictionId,
    source,
    type: 'prediction.made.v1',
    time: new Date(p.time).toISOString(),
    subject: p.model,
    datacontenttype: 'application/json',
    schemaversion: 1,
    data,
  } as unknown as EventOf<'predictions'>;
};
