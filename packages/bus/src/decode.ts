import type { z } from 'zod';

export type Decoded<T> = { ok: true; event: T } | { ok: false; reason: string };

/** Decodes one Kafka value with its topic's schema; a failure carries a reason fit for a dead-letter header. */
export const decode = <S extends z.ZodTypeAny>(schema: S, value: Buffer | null): Decoded<z.infer<S>> => {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty message value (tombstone); expected a JSON envelope' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `value is not JSON: ${(err as Error).message}` };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, event: r.data };
  const issues = r.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return { ok: false, reason: `schema validation failed: ${issues.join('; ')}` };
};
