import type { z } from 'zod';
import type { CompiledCheck } from './compiledCheck.js';

/** Why a value never reaches a handler: it does not parse, or it parses but its producer is not trusted. */
export type Refusal = 'PoisonMessage' | 'UntrustedEvent';
export type Refused = { ok: false; reason: string; errorClass: Refusal };
export type Decoded<T> = { ok: true; event: T } | Refused;

/** The first half of decode: the value as JSON, or why it is not. */
export const parseValue = (value: Buffer | null): { ok: true; json: unknown } | Refused => {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty message value (tombstone); expected a JSON envelope', errorClass: 'PoisonMessage' };
  try {
    return { ok: true, json: JSON.parse(value.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, reason: `value is not JSON: ${(err as Error).message}`, errorClass: 'PoisonMessage' };
  }
};

/** The envelope id a parsed value claims, before it is validated (so a dedupe lookup can start early). */
export const claimedId = (json: unknown): string | undefined => {
  const id = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
};

/**
 * The second half of decode: the topic's schema, then its trust check. `compiled` (compiledCheck.ts)
 * takes the values it can vouch for without zod, which are exactly zod's output; zod decides the rest.
 */
export const checkValue = <S extends z.ZodTypeAny>(schema: S, json: unknown, trust?: (event: z.infer<S>) => string | undefined, compiled?: CompiledCheck): Decoded<z.infer<S>> => {
  const r = compiled?.(json) === true ? { success: true as const, data: json as z.infer<S> } : schema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: `schema validation failed: ${issues.join('; ')}`, errorClass: 'PoisonMessage' };
  }
  const refused = trust?.(r.data);
  if (refused !== undefined) return { ok: false, reason: `untrusted event: ${refused}`, errorClass: 'UntrustedEvent' };
  return { ok: true, event: r.data };
};

/**
 * Decodes one Kafka value with its topic's schema, then its trust check (who may publish there, sane
 * bounds: see createTrustCheck). A failure carries a reason fit for a dead-letter header.
 */
export const decode = <S extends z.ZodTypeAny>(schema: S, value: Buffer | null, trust?: (event: z.infer<S>) => string | undefined, compiled?: CompiledCheck): Decoded<z.infer<S>> => {
  const parsed = parseValue(value);
  return parsed.ok ? checkValue(schema, parsed.json, trust, compiled) : parsed;
};
