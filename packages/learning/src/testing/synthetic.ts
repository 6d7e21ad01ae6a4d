import type { Example } from '../data.js';
import { createRng } from '../random.js';
import type { DeepPartial, TrainOptions } from '../options.js';

/** Texts whose class is told by class-specific words among shared noise words. */
export function syntheticExamples(labels: readonly string[], perClass: number, seed: number, vocabShift = 0): Example[] {
  const rng = createRng(seed);
  const out: Example[] = [];
  for (const label of labels) {
    for (let i = 0; i < perClass; i++) {
      const words: string[] = [];
      for (let k = 0; k < 3; k++) words.push(`${label}x${rng.int(8) + vocabShift}`);
      for (let k = 0; k < 2; k++) words.push(`noise${rng.int(30)}`);
      out.push({ text: words.join(' '), label, group: `${label}-${seed}-${i}` });
    }
  }
  return out;
}

/** Tiny network so unit tests run in seconds. */
export const tinyOptions: DeepPartial<TrainOptions> = {
  model: { features: { buckets: 2048, maxFeatures: 48 }, embeddingDim: 16, hiddenUnits: [32] },
  lora: { rank: 4, alpha: 8, dropout: 0 },
  epochs: 6,
  batchSize: 32,
  embeddingLearningRate: 0.2,
  learningRate: { fresh: 1e-2, continued: 5e-3 },
  seed: 7,
};
