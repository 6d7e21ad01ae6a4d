import { mulberry32 } from '@flywheel/stats';

/** A labelled text. */
export interface LabelledText {
  text: string;
  label: string;
}

/** A small, fast-to-learn corpus: old categories for the base model and one that appears later. */
export interface SyntheticCorpus {
  oldLabels: string[];
  newLabel: string;
  /** Bootstrap rows (old categories only). */
  base: LabelledText[];
  /** Traffic pools, disjoint from `base`. */
  oldTraffic: LabelledText[];
  newTraffic: LabelledText[];
  /** Rows with rotated labels: a model trained on them is deliberately bad. */
  bad: LabelledText[];
}

// Each category has its own vocabulary; every text also carries shared filler words so the
// classifier has to pick the signal out (and a misclassified new-category text looks plausible).
const VOCAB: Record<string, string[]> = {
  kitchen: ['saucepan', 'skillet', 'spatula', 'whisk', 'colander', 'ladle', 'teapot', 'cutlery', 'grater', 'kettle', 'wok', 'tongs'],
  footwear: ['sneaker', 'sandal', 'loafer', 'boots', 'slipper', 'heels', 'insole', 'laces', 'moccasin', 'clogs', 'flipflop', 'espadrille'],
  jewellery: ['necklace', 'bracelet', 'earring', 'pendant', 'bangle', 'anklet', 'brooch', 'locket', 'tiara', 'cufflink', 'choker', 'solitaire'],
  watches: ['chronograph', 'wristwatch', 'dial', 'bezel', 'quartz', 'strap', 'smartwatch', 'stopwatch', 'analog', 'timepiece', 'altimeter', 'tachymeter'],
  toys: ['puzzle', 'teddy', 'lego', 'doll', 'kite', 'yoyo', 'rattle', 'marbles', 'playset', 'plushie', 'scooter', 'blocks'],
};
const FILLER = ['premium', 'classic', 'pack', 'set', 'deluxe', 'blue', 'black', 'red', 'large', 'small', 'combo', 'original', 'new', 'edition', 'value'];

/** Seeded, so every run sees the same data (mulberry32). */
export const seededRandom = mulberry32;

const pick = <T>(xs: readonly T[], rnd: () => number): T => xs[Math.floor(rnd() * xs.length)] as T;

/** Distinct texts of one label: two category words, two filler words and a model number. */
const textsFor = (label: string, n: number, rnd: () => number, seen: Set<string>): LabelledText[] => {
  const words = VOCAB[label] ?? [];
  const out: LabelledText[] = [];
  while (out.length < n) {
    const text = `${pick(FILLER, rnd)} ${pick(words, rnd)} ${pick(FILLER, rnd)} ${pick(words, rnd)} model ${Math.floor(rnd() * 100_000)}`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ text, label });
  }
  return out;
};

/**
 * Builds the corpus: `basePerLabel` bootstrap rows per old category, traffic pools and a bad set.
 * Small by design: the base model trains in seconds on two cores.
 */
export const syntheticCorpus = (o: { seed?: number; basePerLabel?: number; trafficPerLabel?: number } = {}): SyntheticCorpus => {
  const rnd = seededRandom(o.seed ?? 7);
  const seen = new Set<string>();
  const oldLabels = ['footwear', 'jewellery', 'kitchen', 'watches'];
  const newLabel = 'toys';
  const base: LabelledText[] = [];
  const oldTraffic: LabelledText[] = [];
  for (const label of oldLabels) {
    base.push(...textsFor(label, o.basePerLabel ?? 60, rnd, seen));
    oldTraffic.push(...textsFor(label, o.trafficPerLabel ?? 150, rnd, seen));
  }
  const newTraffic = textsFor(newLabel, (o.trafficPerLabel ?? 150) * 2, rnd, seen);
  // Rotating labels by one category makes every row wrong, so the bad model is wrong almost always.
  const bad = base.slice(0, 120).map((r) => ({ text: r.text, label: oldLabels[(oldLabels.indexOf(r.label) + 1) % oldLabels.length] as string }));
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  };
  return { oldLabels, newLabel, base: shuffle(base), oldTraffic: shuffle(oldTraffic), newTraffic, bad };
};

/** JSON lines as `flywheel bootstrap --format jsonl` reads them. */
export const toJsonl = (rows: readonly LabelledText[]): string => rows.map((r) => JSON.stringify({ text: r.text, label: r.label })).join('\n') + '\n';
