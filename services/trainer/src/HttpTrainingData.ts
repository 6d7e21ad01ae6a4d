import { CorruptData, DependencyDown, Failed } from '@flywheel/runtime';
import { keepOutOfHeldOut } from './keepOutOfHeldOut.js';
import type { FreshExamples, TrainingDataSource } from './ports.js';
import { TrainingRow } from './TrainingRow.js';

export interface HttpTrainingDataOptions {
  /** feedback-ingest's base URL (FEEDBACK_URL), e.g. http://feedback-ingest:8081 */
  baseUrl: string;
  /** an admin key (ADMIN_TOKEN): the read API is internal */
  token: string;
  /** whole request, body included (default 5 minutes: a large model streams many rows) */
  timeoutMs?: number;
  /** At most this many feedback rows per job (TRAINER_MAX_ROWS), a seeded sample; absent: all of them. */
  maxRows?: number;
  /** Prefix of each read's seed (TRAINER_SAMPLE_SEED); the seed is `<prefix>:<model>:<watermark>`. */
  seed?: string;
}

/**
 * The seed of a job's sample: the same trigger (model and watermark), retried or re-run, draws the
 * same rows; the next trigger, with a new watermark, draws a new sample.
 */
export const sampleSeed = (prefix: string, model: string, watermark: number | undefined): string => `${prefix}:${model}:${watermark ?? 'latest'}`;

/** Answer header of feedback-ingest: feedback groups a limited read chose from. */
const AVAILABLE_HEADER = 'flywheel-examples-available';

/**
 * TrainingDataSource over feedback-ingest's read API, the only way the trainer sees feedback:
 * GET {baseUrl}/internal/v1/models/:model/training-examples (JSONL, one row per line, each ending
 * in a newline). A body cut short, a 5xx, a 429 or no answer is DependencyDown (retriable: the
 * ingest is down or restarting); any other refusal is Failed (the request or the credentials are
 * wrong, a retry fails the same way); a line that is not a row is CorruptData. Rows of `standard`
 * clients are kept out of the held-out sets here, at the boundary (keepOutOfHeldOut).
 */
export class HttpTrainingData implements TrainingDataSource {
  constructor(private readonly o: HttpTrainingDataOptions) {}

  async fresh(model: string, opts: { watermark?: number; pseudoLabelMinConfidence: number; pseudoLabelMaxRows: number }): Promise<FreshExamples> {
    const url = new URL(`internal/v1/models/${encodeURIComponent(model)}/training-examples`, this.o.baseUrl.endsWith('/') ? this.o.baseUrl : `${this.o.baseUrl}/`);
    if (opts.watermark !== undefined) url.searchParams.set('watermark', String(opts.watermark));
    url.searchParams.set('pseudoLabelMinConfidence', String(opts.pseudoLabelMinConfidence));
    url.searchParams.set('pseudoLabelMaxRows', String(opts.pseudoLabelMaxRows));
    const seed = sampleSeed(this.o.seed ?? 'flywheel', model, opts.watermark);
    if (this.o.maxRows !== undefined) {
      url.searchParams.set('limit', String(this.o.maxRows));
      url.searchParams.set('seed', seed);
    }
    const what = `training examples of ${model} from feedback-ingest (${url.origin})`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.o.token}`, accept: 'application/x-ndjson' }, signal: AbortSignal.timeout(this.o.timeoutMs ?? 300_000) });
    } catch (err) {
      throw new DependencyDown(`could not read the ${what}: ${messageOf(err)}; retry once feedback-ingest is up (FEEDBACK_URL)`, { reason: 'feedback_ingest_unavailable', cause: err });
    }
    if (!res.ok) {
      const body = (await res.text().catch(() => '')).slice(0, 500);
      if (res.status >= 500 || res.status === 429) {
        throw new DependencyDown(`feedback-ingest answered HTTP ${res.status} to the read of the ${what}: ${body}; retry later`, { reason: 'feedback_ingest_unavailable', details: { status: res.status } });
      }
      throw new Failed(`feedback-ingest refused the read of the ${what} with HTTP ${res.status}: ${body}; check the trainer's FEEDBACK_URL and ADMIN_TOKEN (a retry fails the same way)`, { reason: 'training_examples_refused', details: { status: res.status } });
    }
    const rows: TrainingRow[] = [];
    let rest: string;
    try {
      rest = await readLines(res, (line, n) => rows.push(parseRow(line, n, what)));
    } catch (err) {
      if (err instanceof CorruptData) throw err;
      throw new DependencyDown(`the answer with the ${what} broke off after ${rows.length} rows: ${messageOf(err)}; retry`, { reason: 'feedback_ingest_unavailable', cause: err });
    }
    // Every row ends in a newline: text after the last one is a row cut off mid-way.
    if (rest.trim() !== '') throw new DependencyDown(`the answer with the ${what} was cut off after ${rows.length} rows (its last line has no newline); retry`, { reason: 'feedback_ingest_unavailable' });
    const examples: FreshExamples = keepOutOfHeldOut(rows);
    if (this.o.maxRows !== undefined) {
      const rowsRead = rows.filter((r) => r.source !== 'pseudo_label').length;
      const available = Number(res.headers.get(AVAILABLE_HEADER));
      // Without the header, the rows that came back are all that is known to exist.
      examples.sample = { maxRows: this.o.maxRows, seed, rowsAvailable: Number.isSafeInteger(available) && available >= rowsRead ? available : rowsRead, rowsRead };
    }
    return examples;
  }
}

const messageOf = (err: unknown): string => (err instanceof Error ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err));

const parseRow = (line: string, n: number, what: string): TrainingRow => {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new CorruptData(`line ${n} of the ${what} is not JSON: ${messageOf(err)}`, { reason: 'training_examples_corrupt', cause: err });
  }
  const r = TrainingRow.safeParse(json);
  if (!r.success) throw new CorruptData(`line ${n} of the ${what} is not a training example: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { reason: 'training_examples_corrupt' });
  return r.data;
};

/** Calls `onLine` for each newline-terminated, non-blank line as it streams in; resolves the text after the last newline. */
const readLines = async (res: Response, onLine: (line: string, n: number) => void): Promise<string> => {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    buf += done ? decoder.decode() : decoder.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      n++;
      if (line.trim() !== '') onLine(line, n);
    }
    if (done) return buf;
  }
};
