/** When a micro-batch runs: once it holds `maxItems` items, or `maxWaitMs` after its first call came in. */
export interface MicroBatchOptions {
  /** how long the first call of a batch waits for company (ms); 0: only for the calls of the same event-loop turn (setImmediate). A call arriving during a run waits for its end at least. */
  maxWaitMs: number;
  /** items per run at most (a single larger call runs alone); 1 or less turns batching off */
  maxItems: number;
  /** runs in progress at once (default 1): more overlap runs that wait on I/O, such as one per database connection */
  concurrency?: number;
  /** told the size of every run (a metric); also when batching is off */
  observe?: (items: number) => void;
}

interface Pending<I, O> {
  items: readonly I[];
  resolve(out: O[]): void;
  reject(err: unknown): void;
}

/**
 * Dynamic micro-batching: concurrent calls of `work` are merged into one run of at most `maxItems`
 * items, waiting at most `maxWaitMs` for more calls; `concurrency` runs at a time (one by default),
 * so under load the queue fills while the runs execute and the next one starts as soon as one ends. Every call gets
 * its own rows back in order. When a merged run fails, each of its calls is run alone, so one bad
 * call fails by itself and the others still get answers.
 */
export function createMicroBatcher<I, O>(work: (items: readonly I[]) => Promise<O[]>, options: MicroBatchOptions): (items: readonly I[]) => Promise<O[]> {
  const observe = options.observe;
  if (options.maxItems <= 1) return observe === undefined ? work : (items) => (observe(items.length), work(items));
  const queue: Pending<I, O>[] = [];
  let queuedItems = 0;
  let cancel: (() => void) | undefined;
  const schedule = (): void => {
    if (options.maxWaitMs > 0) {
      const t = setTimeout(flush, options.maxWaitMs);
      cancel = () => clearTimeout(t);
    } else {
      const t = setImmediate(flush);
      cancel = () => clearImmediate(t);
    }
  };
  let running = 0;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  let due = false;

  const runAlone = async (call: Pending<I, O>): Promise<void> => {
    observe?.(call.items.length);
    try {
      call.resolve(checked(await work(call.items), call.items.length));
    } catch (err) {
      call.reject(err);
    }
  };

  const runBatch = async (calls: Pending<I, O>[]): Promise<void> => {
    if (calls.length === 1) return runAlone(calls[0]!);
    const items = calls.flatMap((c) => c.items);
    observe?.(items.length);
    let out: O[];
    try {
      out = checked(await work(items), items.length);
    } catch {
      for (const call of calls) await runAlone(call);
      return;
    }
    let at = 0;
    for (const call of calls) {
      call.resolve(out.slice(at, at + call.items.length));
      at += call.items.length;
    }
  };

  const flush = (): void => {
    cancel?.();
    cancel = undefined;
    if (running >= concurrency) {
      due = true; // starts when the run in progress ends
      return;
    }
    if (queue.length === 0) return;
    const calls: Pending<I, O>[] = [];
    let n = 0;
    while (queue.length > 0 && (calls.length === 0 || n + queue[0]!.items.length <= options.maxItems)) {
      const call = queue.shift()!;
      calls.push(call);
      n += call.items.length;
    }
    queuedItems -= n;
    running++;
    due = queue.length > 0; // what is left has waited too
    void runBatch(calls).finally(() => {
      running--;
      if (due || queuedItems >= options.maxItems) flush();
      else if (queue.length > 0 && cancel === undefined) schedule();
    });
  };

  return (items) => {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<O[]>((resolve, reject) => {
      queue.push({ items, resolve, reject });
      queuedItems += items.length;
      if (queuedItems >= options.maxItems) flush();
      else if (cancel === undefined) schedule();
    });
  };
}

function checked<O>(out: O[], expected: number): O[] {
  if (out.length !== expected) throw new Error(`a batched run returned ${out.length} rows for ${expected} inputs`);
  return out;
}
