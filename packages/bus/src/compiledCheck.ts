import { Ajv } from 'ajv';
import { datetimeRegex, type z, type ZodTypeDef } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';

/**
 * A compiled JSON Schema check (ajv) in front of a topic's zod schema. zod 3 interprets a schema
 * tree for every message (about 5 µs for a prediction event, most of a consumer's CPU per message);
 * ajv compiles the same constraints into one function. It only ever *accepts*: a value it passes is
 * exactly what zod would output (unknown keys stripped in place, nothing else changed), and every
 * other value goes to zod, which decides and words the error. So ajv may be stricter than zod, never
 * looser. Whatever zod could change or check beyond JSON Schema (trim, refinements, defaults,
 * transforms, strict objects, unions of objects, formats other than uuid and date-time, an own
 * `__proto__` key in a record) compiles to "never accept here", and that value takes zod's path.
 */
export type CompiledCheck = (json: unknown) => boolean;

type Json = Record<string, unknown>;
type Check = { kind: string; regex?: RegExp; offset?: boolean; local?: boolean; precision?: number | null };
type Def = ZodTypeDef & { typeName?: string; checks?: Check[]; unknownKeys?: string; catchall?: { _def: Def }; effect?: { type: string }; options?: readonly { _def: Def }[] };

const NEVER: Json = { not: {} };
// String checks JSON Schema states exactly (length in UTF-16 units and patterns without flags, as
// ajv is set up below); trim is a transform, handled apart.
const STRING_CHECKS = new Set(['min', 'max', 'length', 'regex', 'uuid', 'datetime', 'trim']);
const NUMBER_CHECKS = new Set(['min', 'max', 'int']);
const PLAIN = new Set(['ZodString', 'ZodNumber', 'ZodBoolean', 'ZodLiteral', 'ZodEnum', 'ZodObject', 'ZodArray', 'ZodOptional', 'ZodNullable', 'ZodRecord', 'ZodBranded', 'ZodUnion']);
// zod fills or replaces a value here even when it is absent: a check of what is present cannot follow it.
const NO_FAST_PATH = new Set(['ZodDefault', 'ZodCatch', 'ZodPipeline', 'ZodLazy']);

/** The JSON Schema ajv compiles for `schema`, or undefined where no fast path can be exact. */
export function acceptingSchema(schema: z.ZodTypeAny): Json | undefined {
  let usable = true;
  const postProcess = (json: unknown, def: Def): Json | undefined => {
    const out = json as Json | undefined;
    const name = def.typeName ?? '';
    if (NO_FAST_PATH.has(name) || (name === 'ZodEffects' && def.effect?.type !== 'refinement')) usable = false;
    if (!PLAIN.has(name)) return NEVER;
    if (name === 'ZodString') {
      const checks = def.checks ?? [];
      if (checks.some((c) => !STRING_CHECKS.has(c.kind) || (c.kind === 'regex' && c.regex?.flags !== '') || (c.kind === 'datetime' && !isCompiledDatetime(c)))) return NEVER;
      // zod trims before its other checks and outputs the trimmed string: accept only what trimming leaves as is.
      if (checks.some((c) => c.kind === 'trim')) return { allOf: [out ?? {}, { not: { pattern: '^\\s|\\s$' } }] };
    }
    if (name === 'ZodNumber' && (def.checks ?? []).some((c) => !NUMBER_CHECKS.has(c.kind))) return NEVER;
    // A strict object refuses unknown keys where this check would strip them.
    if (name === 'ZodObject' && def.unknownKeys === 'strict') return NEVER;
    // zod leaves an own `__proto__` key (JSON.parse makes one) out of what it outputs for a record or
    // an object that keeps unknown keys; this check would keep it, so such a value goes to zod.
    const keepsUnknown = name === 'ZodRecord' || (name === 'ZodObject' && (def.unknownKeys !== 'strip' || def.catchall?._def.typeName !== 'ZodNever'));
    if (keepsUnknown) return { allOf: [out ?? {}, { propertyNames: { not: { const: '__proto__' } } }] };
    // ajv strips unknown keys while it tries a branch, so a union is exact only over scalars.
    if (name === 'ZodUnion' && (def.options ?? []).some((o) => !['ZodLiteral', 'ZodString', 'ZodNumber', 'ZodBoolean', 'ZodEnum'].includes(o._def.typeName ?? ''))) return NEVER;
    return out;
  };
  const json = zodToJsonSchema(schema, { $refStrategy: 'none', target: 'jsonSchema7', effectStrategy: 'input', postProcess: postProcess as never }) as Json;
  if (!usable) return undefined;
  delete json.$schema;
  return json;
}

/** The one datetime setting the format below implements (every envelope's `time`). */
const DATETIME = { offset: true, local: false, precision: null } as const;
const isCompiledDatetime = (c: Check): boolean => c.offset === DATETIME.offset && c.local === DATETIME.local && c.precision === DATETIME.precision;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * ajv set up to read patterns and lengths as zod does: regexes without the u flag, lengths in UTF-16
 * code units, unknown keys of plain objects removed (zod strips them). The two formats zod's schemas
 * use here: zod's own datetime regex for the one setting compiled (DATETIME), and the 8-4-4-4-12
 * hex form zod's uuid check accepts (zod does not export that regex; compiledCheck.test.ts holds
 * the two to the same verdicts).
 */
export function createAjv(): Ajv {
  return new Ajv({
    removeAdditional: true,
    unicodeRegExp: false,
    unicode: false,
    allErrors: false,
    strict: false,
    // `unicode: false` is deprecated in ajv 8 but still honoured, and it is what makes lengths count
    // as zod counts them; the deprecation notice would print once per process, so warnings are dropped
    // (if a later ajv stops honouring it, compiledCheck.test.ts's 101-emoji label fails).
    logger: { log: () => {}, warn: () => {}, error: (...args: unknown[]) => console.error(...args) },
    formats: { uuid: UUID, 'date-time': datetimeRegex(DATETIME) },
  });
}

/** The compiled check for a schema, or undefined (zod alone) where the schema holds something zod must always run (a default, a transform). */
export function compileCheck(schema: z.ZodTypeAny, ajv: Ajv = createAjv()): CompiledCheck | undefined {
  const json = acceptingSchema(schema);
  if (json === undefined) return undefined;
  const validate = ajv.compile(json);
  return (value) => validate(value) === true;
}
