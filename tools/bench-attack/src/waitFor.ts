const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs` naming
 * what was awaited and what was seen last (`describe` of the last value, or the last error).
 */
export const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, o: { timeoutMs?: number; intervalMs?: number; seen?: () => string } = {}): Promise<T> => {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let last = 'nothing yet';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = o.seen?.() ?? 'not yet';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs ?? 60_000} ms waiting for ${what}; last seen: ${last}`);
    await sleep(o.intervalMs ?? 250);
  }
};

/** Like waitFor, but answers false instead of throwing when the time is up (for checks whose failure is a finding). */
export const eventually = async (probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
};
