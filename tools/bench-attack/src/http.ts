/** What came back for one request; status 0 when the server closed the connection without an answer. */
export interface Reply {
  status: number;
  retryAfter: string | null;
  text: string;
  /** Set when no answer came (status 0): the socket error. */
  error?: string;
}

export interface Call {
  method?: 'GET' | 'POST';
  /** Sent as `Authorization: Bearer <key>` when set. */
  key?: string | undefined;
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  /** A body sent as is (with content-type application/json): oversized or hand-made JSON. */
  raw?: string;
}

/** One HTTP call that never throws for an HTTP status: the attacks look at statuses, not at exceptions. */
export const send = async (url: string, c: Call = {}): Promise<Reply> => {
  const headers: Record<string, string> = {};
  if (c.key !== undefined) headers.authorization = `Bearer ${c.key}`;
  const body = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(url, { method: c.method ?? (body === undefined ? 'GET' : 'POST'), headers, signal: AbortSignal.timeout(60_000), ...(body === undefined ? {} : { body }) });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
  } catch (err) {
    // A server may answer 413 and close before the whole body was sent; the client then sees a reset.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, retryAfter: null, text: '', error: cause?.code ?? cause?.message ?? (err as Error).message };
  }
};

export const is2xx = (r: Reply): boolean => r.status >= 200 && r.status < 300;

/** Statuses as `401×3 403×1`, for the table. */
export const statusSummary = (replies: readonly Reply[]): string => {
  const counts = new Map<string, number>();
  for (const r of replies) {
    const k = r.status === 0 ? `closed(${r.error ?? '?'})` : String(r.status);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}×${n}`).join(' ');
};

/** Runs `tasks` with at most `concurrency` in flight; results in task order. */
export const pool = async <T>(tasks: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> => {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return out;
};
