/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns a value other than undefined; between polls runs `onTick` (e.g.
 * more traffic). Throws after `timeoutMs` with `what` and the last probe error, so a failing test
 * says what it was waiting for.
 */
export const waitFor = async <T>(
  what: string,
  probe: () => Promise<T | undefined>,
  o: { timeoutMs: number; intervalMs?: number; onTick?: () => Promise<void>; context?: () => string },
): Promise<T> => {
  const deadline = Date.now() + o.timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${o.context ? `\n${o.context()}` : ''}`);
    }
    if (o.onTick) await o.onTick();
    await sleep(o.intervalMs ?? 500);
  }
};
