import type { Logger } from '@flywheel/runtime';
import type { LoadedVersion } from './modelSnapshot.js';
import type { PredictionRecord } from './PredictionLog.js';
import type { ServingMetrics } from './servingMetrics.js';

/** Answers already sent, to be scored again by the model's shadow version. */
export interface ShadowJob {
  model: string;
  shadow: LoadedVersion;
  /** The shadow test's experiment (routing.shadowExperimentId), stamped on each shadow answer. */
  experimentId: string | undefined;
  /** One per answered row; logged once the shadow has scored them (or given up). */
  records: PredictionRecord[];
}

/** Where the answered rows go (the prediction log); must not block. */
export interface ShadowRecorder {
  record(p: PredictionRecord): void;
}

/** What the request path sees: hand the job over and return at once. */
export interface ShadowQueue {
  offer(job: ShadowJob): void;
}

export interface ShadowScorerOptions {
  recorder: ShadowRecorder;
  metrics: Pick<ServingMetrics, 'shadowDropped' | 'shadowScored' | 'shadowQueued'>;
  logger: Logger;
  /** Rows waiting at most; a job that does not fit is dropped (logged without a shadow answer) and counted. */
  capacity?: number;
  /** A shadow inference slower than this is given up (its rows are logged without a shadow answer). */
  timeoutMs?: number;
}

/**
 * Scores requests with a model's shadow version after their answers were sent. The request path
 * only calls offer(), which is O(1) and never waits: a full queue drops the job
 * (`flywheel_serving_shadow_dropped_total{reason="queue_full"}`) and logs its rows as they are.
 * One worker scores a job at a time, started with setImmediate so it never runs inside the
 * request's turn; answers are logged with the shadow's label attached (PredictionMade.shadow),
 * so the ab-router can compare both models on the same items.
 */
export class ShadowScorer implements ShadowQueue {
  private readonly queue: ShadowJob[] = [];
  private queuedRows = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastWarn = 0;
  private readonly capacity: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ShadowScorerOptions) {
    this.capacity = opts.capacity ?? 1_000;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
  }

  offer(job: ShadowJob): void {
    const rows = job.records.length;
    if (this.stopped || this.queuedRows + rows > this.capacity) {
      this.opts.metrics.shadowDropped.inc({ model: job.model, reason: 'queue_full' }, rows);
      this.logPlain(job);
      return;
    }
    this.queue.push(job);
    this.queuedRows += rows;
    this.opts.metrics.shadowQueued.set(this.queuedRows);
    if (this.running === undefined) {
      this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.work()).finally(() => {
        this.running = undefined;
      });
    }
  }

  /** Rows waiting to be scored. */
  get pending(): number {
    return this.queuedRows;
  }

  /** Resolves when the queue is empty (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Stops taking jobs, finishes what waits (each bounded by the timeout), so the log gets every row. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private async work(): Promise<void> {
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      this.queuedRows -= job.records.length;
      this.opts.metrics.shadowQueued.set(this.queuedRows);
      await this.score(job);
    }
  }

  private async score(job: ShadowJob): Promise<void> {
    const { shadow } = job;
    shadow.inFlight++; // a retiring version is released only once this inference has settled
    const inference = shadow.classifier.predictRaw(job.records.map((r) => r.text));
    void inference.finally(() => {
      shadow.inFlight--;
    }).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    try {
      const scores = await Promise.race([inference, timeout]);
      if (scores === 'timeout') {
        this.giveUp(job, 'timeout', undefined);
        return;
      }
      job.records.forEach((r, i) => {
        const label = shadow.labels[scores.labelIndex[i] as number] as string;
        this.opts.recorder.record({ ...r, shadow: { modelVersion: shadow.version, label, confidence: scores.confidence[i] as number, experimentId: job.experimentId } });
      });
      this.opts.metrics.shadowScored.inc({ model: job.model }, job.records.length);
    } catch (err) {
      this.giveUp(job, 'failed', err);
    } finally {
      clearTimeout(timer);
    }
  }

  private giveUp(job: ShadowJob, reason: 'timeout' | 'failed', err: unknown): void {
    this.opts.metrics.shadowDropped.inc({ model: job.model, reason }, job.records.length);
    this.logPlain(job);
    if (Date.now() - this.lastWarn > 10_000) {
      this.lastWarn = Date.now();
      this.opts.logger.warn({ err, model: job.model, version: job.shadow.version, reason }, 'shadow scoring gave up; those answers are logged without a shadow answer');
    }
  }

  private logPlain(job: ShadowJob): void {
    for (const r of job.records) this.opts.recorder.record(r);
  }
}
