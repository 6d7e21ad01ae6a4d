import { mulberry32 } from '@flywheel/stats';

/** A labelled text (what the simulated users know to be true). */
export interface LabelledText {
  text: string;
  label: string;
}

/** The data of one scenario run, split so that no text is both trained on and used as traffic. */
export interface ScenarioData {
  /** The category that "appears" later: absent from the base model. */
  newLabel: string;
  oldLabels: string[];
  /** Bootstrap training set (old categories only). */
  base: LabelledText[];
  /** Old-category traffic pool. */
  oldTraffic: LabelledText[];
  /** New-category traffic pool. */
  newTraffic: LabelledText[];
  /** Fixed evaluation sets, never sent as traffic. */
  evalOld: LabelledText[];
  evalNew: LabelledText[];
  /** A small set with shuffled labels: the deliberately bad version. */
  bad: LabelledText[];
}

export interface SplitOptions {
  /** Categories with fewer rows are left out (too small to learn or to measure). */
  minRowsPerLabel: number;
  /** Bootstrap rows per old category. */
  basePerLabel: number;
  /** Held-out category; default: the one with the most rows among the mid-sized ones (see pickNewLabel). */
  newLabel?: string | undefined;
  evalOldSize: number;
  evalNewSize: number;
  badSize: number;
  seed: number;
}

/** Seeded, so every run sees the same data (mulberry32). */
export const seededRandom = mulberry32;

export const shuffle = <T>(xs: readonly T[], rnd: () => number): T[] => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
};

/**
 * The new category: by default the one ranked in the middle by size among the kept ones, so the
 * old model keeps most of the data and the new category still has traffic for a few minutes.
 */
export const pickNewLabel = (counts: ReadonlyMap<string, number>): string => {
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const pick = ranked[Math.floor(ranked.length / 2)];
  if (!pick) throw new Error('no category has enough rows for the scenario; lower --min-rows or use a bigger data set');
  return pick[0];
};

/**
 * Splits the rows into bootstrap, traffic and evaluation sets. Texts are de-duplicated first
 * (product catalogues repeat names), so an evaluation text was never trained on.
 */
export const splitScenario = (rows: readonly LabelledText[], o: SplitOptions): ScenarioData => {
  const rnd = seededRandom(o.seed);
  const seen = new Set<string>();
  const byLabel = new Map<string, LabelledText[]>();
  for (const r of shuffle(rows, rnd)) {
    const key = r.text.trim().toLowerCase();
    if (key === '' || seen.has(key)) continue;
    seen.add(key);
    const list = byLabel.get(r.label) ?? [];
    list.push(r);
    byLabel.set(r.label, list);
  }
  for (const [label, list] of byLabel) if (list.length < o.minRowsPerLabel) byLabel.delete(label);
  if (byLabel.size < 3) throw new Error(`only ${byLabel.size} categories have at least ${o.minRowsPerLabel} distinct texts; the scenario needs 3 or more (lower --min-rows)`);
  const counts = new Map([...byLabel].map(([l, xs]) => [l, xs.length] as const));
  const newLabel = o.newLabel ?? pickNewLabel(counts);
  const newRows = byLabel.get(newLabel);
  if (!newRows) throw new Error(`--new-label "${newLabel}" is not one of the kept categories: ${[...counts.keys()].join(', ')}`);
  byLabel.delete(newLabel);
  const oldLabels = [...byLabel.keys()].sort();

  const base: LabelledText[] = [];
  const oldRest: LabelledText[] = [];
  for (const label of oldLabels) {
    const list = byLabel.get(label) ?? [];
    // Keep at least a third of each category for traffic and evaluation.
    const n = Math.min(o.basePerLabel, Math.floor(list.length * (2 / 3)));
    base.push(...list.slice(0, n));
    oldRest.push(...list.slice(n));
  }
  const oldShuffled = shuffle(oldRest, rnd);
  const evalOld = oldShuffled.slice(0, o.evalOldSize);
  const oldTraffic = oldShuffled.slice(o.evalOldSize);
  const evalNewSize = Math.min(o.evalNewSize, Math.floor(newRows.length / 4));
  const evalNew = newRows.slice(0, evalNewSize);
  const newTraffic = newRows.slice(evalNewSize);
  const badRows = shuffle(base, rnd).slice(0, o.badSize);
  const labels = shuffle(badRows.map((r) => r.label), rnd);
  // A label derangement-ish: rotate the shuffled labels so most rows get a wrong one.
  const bad = badRows.map((r, i) => ({ text: r.text, label: labels[(i + 1) % labels.length] as string }));
  return { newLabel, oldLabels, base: shuffle(base, rnd), oldTraffic, newTraffic, evalOld, evalNew, bad };
};
