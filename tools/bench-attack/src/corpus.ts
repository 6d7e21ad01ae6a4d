/** A labelled text as `flywheel bootstrap --format jsonl` reads it. */
export interface LabelledText {
  text: string;
  label: string;
}

// Four categories, each with words of its own, plus words every category shares, so the model has
// something to learn and a bootstrap takes seconds on two cores.
const WORDS: Record<string, readonly string[]> = {
  garden: ['trowel', 'hosepipe', 'planter', 'shears', 'compost', 'seedling', 'rake', 'sprinkler', 'wheelbarrow', 'pruner'],
  office: ['stapler', 'binder', 'notepad', 'highlighter', 'envelope', 'clipboard', 'paperclip', 'ledger', 'folder', 'whiteboard'],
  pets: ['leash', 'kibble', 'aquarium', 'birdcage', 'catnip', 'collar', 'litter', 'hamster', 'chewtoy', 'kennel'],
  audio: ['headphones', 'speaker', 'amplifier', 'turntable', 'microphone', 'subwoofer', 'earbuds', 'soundbar', 'receiver', 'mixer'],
};
const SHARED = ['premium', 'compact', 'classic', 'black', 'white', 'large', 'mini', 'pro', 'value', 'edition'];

/** The labels a bootstrapped model knows. */
export const CORPUS_LABELS: readonly string[] = Object.keys(WORDS);

/** A small linear congruential generator: the same corpus on every run. */
const lcg = (seed: number): ((n: number) => number) => {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
};

/** `perLabel` distinct texts per category: category words, shared words and a model number. */
export const benchCorpus = (perLabel: number, seed = 11): LabelledText[] => {
  const rnd = lcg(seed);
  const out: LabelledText[] = [];
  for (let i = 0; i < perLabel; i++) {
    for (const [label, words] of Object.entries(WORDS)) {
      const w = (): string => words[rnd(words.length)] as string;
      const s = (): string => SHARED[rnd(SHARED.length)] as string;
      out.push({ text: `${s()} ${w()} ${s()} ${w()} no ${i}-${rnd(10_000)}`, label });
    }
  }
  return out;
};

/** JSON lines, one labelled text each. */
export const toJsonl = (rows: readonly LabelledText[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
