/** Streaming counters for one arm: `n` outcomes observed, `successes` of them correct. */
export interface ArmCounts {
  readonly n: number;
  readonly successes: number;
}

/** Counters for both arms of an experiment. */
export interface ExperimentStats {
  readonly champion: ArmCounts;
  readonly challenger: ArmCounts;
}

/** Counters with nothing observed. */
export function emptyCounts(): ArmCounts {
  return { n: 0, successes: 0 };
}

/** Counters after one more outcome. */
export function recordOutcome(counts: ArmCounts, success: boolean): ArmCounts {
  return { n: counts.n + 1, successes: counts.successes + (success ? 1 : 0) };
}

/** Sum of two partial counters (e.g. from two router replicas or two time windows). */
export function mergeCounts(a: ArmCounts, b: ArmCounts): ArmCounts {
  assertArmCounts(a);
  assertArmCounts(b);
  return { n: a.n + b.n, successes: a.successes + b.successes };
}

/** Arm-wise sum of two partial experiment counters. */
export function mergeExperimentStats(a: ExperimentStats, b: ExperimentStats): ExperimentStats {
  return { champion: mergeCounts(a.champion, b.champion), challenger: mergeCounts(a.challenger, b.challenger) };
}

/** Success rate, or NaN when nothing was observed. */
export function rateOf(counts: ArmCounts): number {
  return counts.n > 0 ? counts.successes / counts.n : Number.NaN;
}

/** Throws a RangeError that says what is wrong when counters are not integers with 0 ≤ successes ≤ n. */
export function assertArmCounts(counts: ArmCounts, name = 'arm'): void {
  const { n, successes } = counts;
  if (!Number.isInteger(n) || !Number.isInteger(successes) || n < 0 || successes < 0 || successes > n) {
    throw new RangeError(`${name} counters must be integers with 0 ≤ successes ≤ n, got n=${n}, successes=${successes}`);
  }
}
