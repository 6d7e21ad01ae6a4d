import { z } from 'zod';
import { ServiceConfig } from '@flywheel/service';
import { commaList, parseOrExplain } from '@flywheel/runtime';
import { ExperimentSettingsInput } from './experimentSettings.js';

const json = <S extends z.ZodTypeAny>(schema: S, example: string) =>
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be JSON, e.g. ${example}` });
      return z.NEVER;
    }
  }).pipe(schema);

/** The platform settings every service shares (ServiceConfig) plus the ab-router's own. */
const Config = ServiceConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8085),
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters'),
  /** Evaluation and health-check period (default 6 h; seconds in the demo). */
  EVAL_INTERVAL_MS: z.coerce.number().int().min(0).default(6 * 3600 * 1000),
  SPLIT_BPS: z.coerce.number().int().min(1).max(9_999).optional(),
  TEST_METHOD: z.enum(['sequential', 'fixed']).optional(),
  MIN_SAMPLE_PER_ARM: z.coerce.number().int().positive().optional(),
  MIN_IMPROVEMENT: z.coerce.number().min(0).lt(1).optional(),
  MAX_DEGRADATION: z.coerce.number().min(0).lt(1).optional(),
  /** Forgetting gate margin at promotion (absolute; default 0.05, the trainer's GATE_MAX_FORGETTING default). */
  MAX_FORGETTING: z.coerce.number().min(0).lt(1).optional(),
  /** Per-model overrides, e.g. {"support-tickets":{"splitBps":2000,"minSamplePerArm":200}}. */
  EXPERIMENT_OVERRIDES: json(z.record(z.string(), ExperimentSettingsInput), '{"my-model":{"splitBps":2000}}').default('{}'),
  HEALTH_WINDOW: z.coerce.number().int().positive().default(200),
  HEALTH_MIN_SAMPLES: z.coerce.number().int().positive().default(100),
  HEALTH_MAX_ACCURACY_DROP: z.coerce.number().gt(0).lt(1).default(0.1),
  /** Serving replicas' /metrics URLs, comma-separated; when set, error rate and p99 latency can also roll back. */
  SERVING_METRICS_URLS: commaList.optional(),
  HEALTH_MIN_REQUESTS: z.coerce.number().int().positive().default(200),
  HEALTH_MAX_ERROR_RATE: z.coerce.number().gt(0).lt(1).default(0.05),
  HEALTH_MAX_P99_MS: z.coerce.number().positive().default(1000),
  /** Outcomes and outcome reports older than this are deleted, never those of a live experiment (src/outcomeRetention.ts). */
  OUTCOMES_KEEP_DAYS: z.coerce.number().positive().default(90),
  /** How often retention runs (batched deletes). */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
});
export type AbRouterConfig = z.infer<typeof Config>;

/** Parses the ab-router's environment; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): AbRouterConfig => parseOrExplain(Config, env, 'ab-router environment');

/** The env's experiment defaults as settings input (unset variables fall back to the stats defaults). */
export const defaultSettings = (c: AbRouterConfig): ExperimentSettingsInput => ({
  ...(c.SPLIT_BPS !== undefined ? { splitBps: c.SPLIT_BPS } : {}),
  ...(c.TEST_METHOD !== undefined ? { method: c.TEST_METHOD } : {}),
  ...(c.MIN_SAMPLE_PER_ARM !== undefined ? { minSamplePerArm: c.MIN_SAMPLE_PER_ARM } : {}),
  ...(c.MIN_IMPROVEMENT !== undefined ? { minImprovement: c.MIN_IMPROVEMENT } : {}),
  ...(c.MAX_DEGRADATION !== undefined ? { maxDegradation: c.MAX_DEGRADATION } : {}),
  ...(c.MAX_FORGETTING !== undefined ? { maxForgetting: c.MAX_FORGETTING } : {}),
});
