/** Exponential backoff with full jitter, capped. attempt starts at 0. */
export const backoffMs = (attempt: number, baseMs = 100, capMs = 10_000, random: () => number = Math.random): number =>
  Math.round(random() * Math.min(capMs, baseMs * 2 ** attempt));

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
