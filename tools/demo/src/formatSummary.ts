import type { StageResult } from './runScenario.js';

const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

/** The closing table: each stage, its time, accuracy before/after and old-category accuracy kept. */
export const formatSummary = (stages: readonly StageResult[]): string => {
  const head = ['stage', 'seconds', 'acc before', 'acc after', 'old categories', 'note'];
  const rows = stages.map((s) => [
    s.stage, s.seconds.toFixed(1), pct(s.accuracyBefore), pct(s.accuracyAfter),
    s.oldBefore === undefined && s.oldAfter === undefined ? '-' : s.oldBefore === undefined ? pct(s.oldAfter) : `${pct(s.oldBefore)} → ${pct(s.oldAfter)}`,
    s.note,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 1 && i <= 4 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
};
