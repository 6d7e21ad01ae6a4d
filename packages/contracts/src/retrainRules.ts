import { z } from 'zod';

/** The retraining rules of one model: the aggregator enforces them, feedback-ingest reports them. */
export const RetrainRules = z.object({
  /** Pending corrections that start a retraining. */
  correctionThreshold: z.number().int().positive(),
  /** Retrain at least this often when there is new feedback. */
  maxDaysBetweenTrainings: z.number().positive(),
  /** Observed accuracy over the window below this starts a retraining. */
  accuracyFloor: z.number().min(0).max(1),
  /** A drop of observed accuracy from its best window since the last training larger than this starts a retraining. */
  maxAccuracyDrop: z.number().min(0).max(1),
  /** Outcomes (confirmations, thumbs, corrections) in the sliding window. */
  windowSize: z.number().int().positive(),
  /** Outcomes needed before the performance rule judges at all. */
  minWindow: z.number().int().positive(),
});
export type RetrainRules = z.infer<typeof RetrainRules>;

/** Environment variables of the default rules and per-model overrides, shared by name with the aggregator. */
export const RuleEnv = z.object({
  RETRAIN_CORRECTION_THRESHOLD: z.coerce.number().int().positive().default(50),
  RETRAIN_MAX_DAYS: z.coerce.number().positive().default(14),
  RETRAIN_ACCURACY_FLOOR: z.coerce.number().min(0).max(1).default(0.7),
  RETRAIN_MAX_ACCURACY_DROP: z.coerce.number().min(0).max(1).default(0.15),
  RETRAIN_WINDOW_SIZE: z.coerce.number().int().positive().default(200),
  RETRAIN_MIN_WINDOW: z.coerce.number().int().positive().default(100),
  /** e.g. {"support-urgency":{"correctionThreshold":20}} */
  RULES_JSON: z.string().optional(),
});
export type RuleEnv = z.infer<typeof RuleEnv>;

const Overrides = z.record(z.string(), RetrainRules.partial().strict());

/** Resolves the rules of any model: defaults from RETRAIN_*, overridden per model by RULES_JSON. */
export const createRuleBook = (env: RuleEnv): ((model: string) => RetrainRules) => {
  const defaults: RetrainRules = {
    correctionThreshold: env.RETRAIN_CORRECTION_THRESHOLD,
    maxDaysBetweenTrainings: env.RETRAIN_MAX_DAYS,
    accuracyFloor: env.RETRAIN_ACCURACY_FLOOR,
    maxAccuracyDrop: env.RETRAIN_MAX_ACCURACY_DROP,
    windowSize: env.RETRAIN_WINDOW_SIZE,
    minWindow: env.RETRAIN_MIN_WINDOW,
  };
  let overrides: z.infer<typeof Overrides> = {};
  if (env.RULES_JSON) {
    let json: unknown;
    try {
      json = JSON.parse(env.RULES_JSON);
    } catch (err) {
      throw new Error(`RULES_JSON is not JSON (${(err as Error).message}); write e.g. {"my-model":{"correctionThreshold":20}}`);
    }
    const r = Overrides.safeParse(json);
    if (!r.success) throw new Error(`RULES_JSON is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    overrides = r.data;
  }
  return (model) => ({ ...defaults, ...(overrides[model] ?? {}) }) as RetrainRules;
};
