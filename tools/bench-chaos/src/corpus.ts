import type { Rng } from './prng.js';

/** A labelled text as `flywheel bootstrap --format jsonl` reads it, and as the traffic's ground truth. */
export interface LabelledText {
  text: string;
  label: string;
}

// Three categories with words of their own and shared filler, so a bootstrap takes seconds and
// the model is right often enough that an A/B test sees both outcomes.
const WORDS: Record<string, readonly string[]> = {
  weather: ['rain', 'storm', 'sunny', 'forecast', 'thunder', 'drizzle', 'humid', 'breeze'],
  sport: ['goal', 'match', 'striker', 'referee', 'league', 'penalty', 'coach', 'stadium'],
  food: ['pasta', 'recipe', 'oven', 'spicy', 'dessert', 'garlic', 'bakery', 'noodle'],
};
const FILLER = ['today', 'really', 'the', 'new', 'big', 'late', 'quite', 'again'];

export const LABELS: readonly string[] = Object.keys(WORDS);

/** One text of `label`: two topic words, two filler words and a serial (every text distinct). */
export const textOf = (rng: Rng, label: string, serial: number): LabelledText => {
  const words = WORDS[label] ?? [];
  const w = (): string => rng.pick(words);
  const f = (): string => rng.pick(FILLER);
  return { text: `${f()} ${w()} ${f()} ${w()} #${serial}`, label };
};

/** `perLabel` texts of every label. */
export const corpus = (rng: Rng, perLabel: number): LabelledText[] => {
  const out: LabelledText[] = [];
  let serial = 0;
  for (let i = 0; i < perLabel; i++) for (const label of LABELS) out.push(textOf(rng, label, serial++));
  return out;
};

export const toJsonl = (rows: readonly LabelledText[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** A text with topic words of two labels; its truth is `label`. A model gets these wrong often, so they bring corrections. */
export const mixedTextOf = (rng: Rng, label: string, serial: number): LabelledText => {
  const other = rng.pick(LABELS.filter((l) => l !== label));
  return { text: `${rng.pick(WORDS[label] ?? [])} ${rng.pick(WORDS[other] ?? [])} ${rng.pick(FILLER)} #m${serial}`, label };
};
