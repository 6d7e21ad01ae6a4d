import { z } from 'zod';
import { DEFAULT_EXPERIMENT_CONFIG, DEFAULT_PAIRED_CONFIG } from '@flywheel/stats';

/**
 * How a challenger is tested before promotion. `ab` (the default, today's behaviour): an A/B split.
 * `shadow-then-ab`: first in shadow (the champion answers, the challenger scores the same requests
 * off the request path, compared paired), then an A/B split if it wins. `shadow-then-promote`:
 * promoted straight from a won shadow test.
 */
export const PromotionPolicy = z.enum(['ab', 'shadow-then-ab', 'shadow-then-promote']);
export type PromotionPolicy = z.infer<typeof PromotionPolicy>;

/**
 * An experiment's configuration: the split and the decision rule. Defaults: 10 % to the
 * challenger, sequential (always-valid) test, 1,000 outcomes per arm, +2 points to promote,
 * −1 point degradation guard, SRM at p < 0.001.
 */
export const ExperimentSettings = z.object({
  splitBps: z.number().int().min(1).max(9_999).default(1_000),
  method: z.enum(['sequential', 'fixed']).default(DEFAULT_EXPERIMENT_CONFIG.method),
  alpha: z.number().gt(0).lt(1).default(DEFAULT_EXPERIMENT_CONFIG.alpha),
  minSamplePerArm: z.number().int().positive().default(DEFAULT_EXPERIMENT_CONFIG.minSamplePerArm),
  minImprovement: z.number().min(0).lt(1).default(DEFAULT_EXPERIMENT_CONFIG.minImprovement),
  maxDegradation: z.number().min(0).lt(1).default(DEFAULT_EXPERIMENT_CONFIG.maxDegradation),
  tau: z.number().positive().default(DEFAULT_EXPERIMENT_CONFIG.tau),
  srmThreshold: z.number().gt(0).lt(1).default(DEFAULT_EXPERIMENT_CONFIG.srmThreshold),
  policy: PromotionPolicy.default('ab'),
  /** Shadow phase: labelled pairs before the paired test may promote or give up (exact test, so fewer than minSamplePerArm). */
  shadowMinPairs: z.number().int().positive().default(DEFAULT_PAIRED_CONFIG.minPairs),
  /**
   * Forgetting gate: a promotion is refused when the challenger's accuracy on the old-class
   * holdout is more than this below the champion's (absolute: 0.05 = 5 points). The default is the
   * trainer's gate (GATE_MAX_FORGETTING), so a challenger the trainer passed is not tested on live
   * traffic only to be refused for the same measure; set both lower together.
   */
  maxForgetting: z.number().min(0).lt(1).default(0.05),
  /** When the registry has no holdout metric to compare: `allow` (recorded as unchecked) or `refuse`. */
  forgettingWhenMissing: z.enum(['allow', 'refuse']).default('allow'),
});
export type ExperimentSettings = z.infer<typeof ExperimentSettings>;
/** Partial settings as given by an operator (env defaults, per-model overrides, admin body). */
export const ExperimentSettingsInput = ExperimentSettings.partial();
export type ExperimentSettingsInput = z.infer<typeof ExperimentSettingsInput>;

/** Resolves settings for a model: defaults < global overrides < per-model overrides < explicit. */
export const settingsFor = (
  model: string,
  defaults: ExperimentSettingsInput,
  perModel: Readonly<Record<string, ExperimentSettingsInput>>,
  explicit: ExperimentSettingsInput = {},
): ExperimentSettings => ExperimentSettings.parse({ ...defaults, ...(perModel[model] ?? {}), ...explicit });
