/** One clean-up step: what it removes (named in the error when it fails) and the work. */
export type CleanUpStep = readonly [what: string, run: () => unknown];

/**
 * Runs every step in order, each one even when an earlier one failed (a half-started world must
 * still lose what it did make), then throws one error starting with `title` that names every
 * failed step and its reason; resolves when all went through.
 */
export const cleanUpAll = async (title: string, steps: readonly CleanUpStep[]): Promise<void> => {
  const failures: string[] = [];
  for (const [what, run] of steps) {
    try {
      await run();
    } catch (err) {
      failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (failures.length > 0) throw new Error(`${title}:\n  ${failures.join('\n  ')}`);
};
