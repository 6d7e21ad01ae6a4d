import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { isRetriable } from '@flywheel/runtime';
import { ServiceRefused } from '../cliErrors.js';
import { chunk } from '../chunk.js';
import type { ServiceCall } from '../serviceClient.js';
import type { ColumnFormat } from '../tableRows.js';
import { contentHash, FEEDBACK_BATCH, idempotencyKey, parseLabelledFile, toFeedbackItems } from './labelledFile.js';
import { WatchState } from './watchState.js';

export interface WatchDeps {
  feedback: ServiceCall;
  print: (line: string) => void;
  warn: (line: string) => void;
  actor: string;
}

export interface WatchOptions {
  dir: string;
  model: string;
  /** the column flags; the format follows each file's extension unless --format was given */
  formatFor: (file: string) => ColumnFormat;
  /** handle what is there (once stable) and return */
  once: boolean;
  /** between scans; a file counts as stable when two scans see the same size and mtime */
  pollMs?: number;
  /** stops the loop after the file in hand */
  signal?: AbortSignal;
}

export interface WatchSummary {
  sent: number;
  failed: number;
  /** files left in DIR: still being written, or a service was down (retry later) */
  left: string[];
}

const Accepted = z.object({ accepted: z.number().int() }).passthrough();
const DATA_FILE = /\.(csv|jsonl|ndjson)$/i;
type Seen = { size: number; mtimeMs: number };
type Outcome = 'sent' | 'failed' | 'retry' | 'changed';

/** Data files directly in `dir` (hidden and temporary names are skipped) with their size and mtime. */
const scan = async (dir: string): Promise<Map<string, Seen>> => {
  const out = new Map<string, Seen>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isFile() || e.name.startsWith('.') || !DATA_FILE.test(e.name)) continue;
    try {
      const s = await stat(join(dir, e.name));
      out.set(e.name, { size: s.size, mtimeMs: s.mtimeMs });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // moved away meanwhile
    }
  }
  return out;
};

/** Moves `name` into DIR/sub/, never overwriting: a taken name gets a counter before its extension. */
const moveInto = async (dir: string, sub: 'done' | 'failed', name: string): Promise<string> => {
  await mkdir(join(dir, sub), { recursive: true });
  const ext = extname(name);
  const base = name.slice(0, name.length - ext.length);
  for (let i = 0; ; i++) {
    const target = i === 0 ? name : `${base}.${i}${ext}`;
    try {
      await stat(join(dir, sub, target));
      continue;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(join(dir, name), join(dir, sub, target));
    return target;
  }
};

/**
 * Watches DIR for labelled CSV/JSONL files and sends each as feedback, FEEDBACK_BATCH rows per
 * request with a content-derived Idempotency-Key. Delivered files move to done/ (the move is the
 * commit), refused ones to failed/ with `<name>.reason.txt`; a service that is down leaves the file
 * in place for a later try.
 */
export const watchFolder = async (deps: WatchDeps, opts: WatchOptions): Promise<WatchSummary> => {
  const { dir } = opts;
  const pollMs = opts.pollMs ?? 1000;
  const state = await WatchState.open(dir);
  const summary: WatchSummary = { sent: 0, failed: 0, left: [] };
  const backoff = new Map<string, { until: number; ms: number }>();
  /** --once: files a down service could not take; not tried again in this run */
  const givenUp = new Set<string>();

  const fail = async (name: string, reason: string): Promise<Outcome> => {
    const target = await moveInto(dir, 'failed', name);
    await writeFile(join(dir, 'failed', `${target}.reason.txt`), `${name} was not sent to feedback-ingest:\n${reason}\n`);
    deps.warn(`failed ${name} → failed/${target} (${reason.split('\n')[0]})`);
    return 'failed';
  };

  const handle = async (name: string, seen: Seen): Promise<Outcome> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'changed'; // moved away meanwhile
      throw err;
    }
    if (bytes.byteLength !== seen.size) return 'changed';
    const hash = contentHash(bytes);
    const prior = state.get(hash);
    if (prior) {
      const target = await moveInto(dir, 'done', name);
      deps.print(`skipped ${name}: same content as ${prior.file}, sent ${prior.at}; moved to done/${target} without sending again`);
      return 'sent';
    }
    const parsed = parseLabelledFile(bytes.toString('utf8'), opts.formatFor(name));
    if (!parsed.ok) return fail(name, parsed.reason);
    const parts = chunk(toFeedbackItems(opts.model, parsed.rows, deps.actor.slice(0, 200)), FEEDBACK_BATCH);
    for (const [i, items] of parts.entries()) {
      try {
        const body = await deps.feedback('POST', '/v1/feedback/batch', { body: { items }, headers: { 'idempotency-key': idempotencyKey(opts.model, hash, i) } });
        const r = Accepted.safeParse(body);
        if (!r.success || r.data.accepted !== items.length) throw new Error(`feedback-ingest accepted ${r.success ? r.data.accepted : '?'} of ${items.length} items`);
      } catch (err) {
        if (!(err instanceof ServiceRefused)) throw err;
        const before = i > 0 ? ` (the first ${i * FEEDBACK_BATCH} rows were accepted before)` : '';
        return fail(name, `request ${i + 1} of ${parts.length} refused${before}: ${err.message}`);
      }
    }
    await state.markSent(hash, { file: name, at: new Date().toISOString(), rows: parsed.rows.length });
    const target = await moveInto(dir, 'done', name);
    deps.print(`sent ${name}: ${parsed.rows.length} labelled rows for ${opts.model} in ${parts.length} request${parts.length === 1 ? '' : 's'} → done/${target}`);
    return 'sent';
  };

  let previous = new Map<string, Seen>();
  for (let round = 0; !opts.signal?.aborted; round++) {
    const current = await scan(dir);
    const waiting: string[] = [];
    for (const [name, seen] of current) {
      if (opts.signal?.aborted) break;
      if (givenUp.has(name)) continue;
      const before = previous.get(name);
      const b = backoff.get(name);
      if (!before || before.size !== seen.size || before.mtimeMs !== seen.mtimeMs || (b && Date.now() < b.until)) {
        waiting.push(name);
        continue;
      }
      let outcome: Outcome;
      try {
        outcome = await handle(name, seen);
      } catch (err) {
        if (!isRetriable(err)) throw err;
        const ms = Math.min((b?.ms ?? pollMs / 2) * 2, 60_000);
        backoff.set(name, { until: Date.now() + ms, ms });
        deps.warn(`could not send ${name} (${err instanceof Error ? err.message : String(err)}); ${opts.once ? 'left in place for the next run' : `trying again in ${Math.round(ms / 1000)} s`}`);
        outcome = 'retry';
      }
      if (outcome === 'sent') summary.sent++;
      else if (outcome === 'failed') summary.failed++;
      else if (outcome === 'changed') waiting.push(name);
      if (outcome !== 'retry') backoff.delete(name);
      else if (opts.once) {
        givenUp.add(name);
        summary.left.push(name);
      }
    }
    previous = current;
    // --once: a first scan only observes; later scans wait (up to 30 polls) for files still being written.
    if (opts.once && ((round > 0 && waiting.length === 0) || round >= 30)) {
      summary.left.push(...waiting);
      return summary;
    }
    try {
      await delay(pollMs, undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      break; // aborted
    }
  }
  return summary;
};
