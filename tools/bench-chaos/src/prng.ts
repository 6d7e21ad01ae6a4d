import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/** A seeded random source (pure-rand's xoroshiro128+): the same seed gives the same run plan. */
export interface Rng {
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

export const createRng = (seed: number): Rng => {
  const g: RandomGenerator = xoroshiro128plus(seed | 0);
  const int = (min: number, max: number): number => unsafeUniformIntDistribution(min, max, g);
  return {
    int,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(0, items.length - 1)] as (typeof items)[number];
    },
    chance: (p) => int(0, 9_999) < p * 10_000,
  };
};
