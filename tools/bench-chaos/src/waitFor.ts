const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (not undefined); on timeout throws naming `what` and the last error. */
export const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, o: { timeoutMs: number; intervalMs: number }): Promise<T> => {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'not yet';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${what}; last: ${last}`);
    await sleep(o.intervalMs);
  }
};
