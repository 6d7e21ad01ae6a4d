import { murmur3_32 } from './hash.js';

/** The two arms of a champion/challenger experiment. */
export type Variant = 'champion' | 'challenger';

/** Traffic split in basis points: `challengerBp` of 10,000 subjects go to the challenger. */
export interface TrafficSplit {
  /** Integer in [0, 10000]; e.g. 1000 = 10 % challenger. */
  readonly challengerBp: number;
}

/** Number of buckets subjects are hashed into (basis points). */
export const BASIS_POINTS = 10_000;

/**
 * The subject's bucket in [0, 10000): MurmurHash3-32 of the length-prefixed salt and subject id
 * (length prefix so that no salt/id pair can collide with another by moving the separator).
 * Changing the salt reshuffles every subject, so each experiment gets an independent assignment.
 */
export function bucketOf(subjectId: string, salt: string): number {
  return murmur3_32(`${salt.length}:${salt}:${subjectId}`) % BASIS_POINTS;
}

/**
 * Deterministic, sticky assignment of a subject to an arm: the same (subjectId, salt) always gets
 * the same variant, and raising `challengerBp` only moves champion subjects to the challenger
 * (buckets below `challengerBp` are challenger). Serving and the ab-router must both use this.
 */
export function assignVariant(subjectId: string, split: TrafficSplit, salt: string): Variant {
  assertSplit(split);
  return bucketOf(subjectId, salt) < split.challengerBp ? 'challenger' : 'champion';
}

/** Throws a RangeError that names the fix when a split is not an integer in [0, 10000]. */
export function assertSplit(split: TrafficSplit): void {
  const bp = split.challengerBp;
  if (!Number.isInteger(bp) || bp < 0 || bp > BASIS_POINTS) {
    throw new RangeError(`challengerBp must be an integer number of basis points in [0, ${BASIS_POINTS}], got ${bp}`);
  }
}
