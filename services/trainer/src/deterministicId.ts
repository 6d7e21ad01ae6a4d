import { createHash } from 'node:crypto';

/** A UUID-shaped id derived from a string, so a retried publish of the same fact has the same event id (consumers dedupe). */
export const deterministicId = (seed: string): string => {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
