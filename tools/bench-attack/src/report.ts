/** What one attack did and whether it got anywhere. */
export interface AttackResult {
  attack: string;
  /** Requests or events sent. */
  sent: number;
  /** What came back or what was observed, short. */
  observed: string;
  /** True when the attack changed a decision, a model or a label set, stalled a partition, or got a 2xx where it should not. */
  succeeded: boolean;
  forgedOutcomesCounted?: number;
  poisonedLabelsTrainable?: number;
  stalledPartitions?: number;
  unauthenticated2xx?: number;
  rateLimited429?: number;
}

/** The bench's last line. */
export interface AttackSummary {
  attacks: number;
  succeeded: number;
  forgedOutcomesCounted: number;
  poisonedLabelsTrainable: number;
  stalledPartitions: number;
  unauthenticated2xx: number;
  rateLimited429: number;
}

export const summarize = (results: readonly AttackResult[]): AttackSummary => {
  const sum = (k: 'forgedOutcomesCounted' | 'poisonedLabelsTrainable' | 'stalledPartitions' | 'unauthenticated2xx' | 'rateLimited429'): number =>
    results.reduce((n, r) => n + (r[k] ?? 0), 0);
  return {
    attacks: results.length,
    succeeded: results.filter((r) => r.succeeded).length,
    forgedOutcomesCounted: sum('forgedOutcomesCounted'),
    poisonedLabelsTrainable: sum('poisonedLabelsTrainable'),
    stalledPartitions: sum('stalledPartitions'),
    unauthenticated2xx: sum('unauthenticated2xx'),
    rateLimited429: sum('rateLimited429'),
  };
};

/** The per-attack table, aligned, one string per line. */
export const renderTable = (results: readonly AttackResult[]): string[] => {
  const head = ['attack', 'sent', 'result', 'observed'];
  const rows = results.map((r) => [r.attack, String(r.sent), r.succeeded ? 'SUCCEEDED' : 'stopped', r.observed]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  // The last column is not padded: observations may be long.
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(width[i] as number))).join('  ');
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)];
};
