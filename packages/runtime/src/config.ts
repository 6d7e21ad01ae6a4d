import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Parses a config object and, on failure, throws one ConfigError that names every missing or bad
 * variable, so an operator fixes them all in one go.
 */
export const parseOrExplain = <S extends z.ZodTypeAny>(schema: S, input: unknown, what = 'environment'): z.infer<S> => {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const name = i.path.join('.') || '(root)';
    return `  - ${name}: ${i.code === 'invalid_type' && i.received === 'undefined' ? 'is required but not set' : i.message}`;
  });
  throw new ConfigError(`Invalid ${what}: set or fix these variables and start again:\n${lines.join('\n')}`);
};

/** A comma-separated list, e.g. KAFKA_BROKERS=host1:9092,host2:9092. */
export const commaList = z
  .string()
  .min(1)
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0))
  .pipe(z.array(z.string()).min(1, 'needs at least one entry'));

/** A boolean written as true/false/1/0 in an environment variable. */
export const envBoolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The connection settings every service shares; services extend this with their own. */
export const PlatformConfig = z.object({
  KAFKA_BROKERS: commaList,
  POSTGRES_URL: z.string().url('POSTGRES_URL must be a URL like postgres://user@host:5432/db'),
  REDIS_URL: z.string().url('REDIS_URL must be a URL like redis://host:6379'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * How long a consumer group waits for a silent member before it hands that member's partitions to
   * the others (kafkajs sessionTimeout), and how long a rebalance waits for members to rejoin. A
   * crashed replica's partitions stand still this long; lower is faster failover, too low evicts
   * members during long GC pauses.
   */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(3_000).default(30_000),
  KAFKA_REBALANCE_TIMEOUT_MS: z.coerce.number().int().min(3_000).default(60_000),
  /** Test-only crash points (see failpoints.ts); unset in production. */
  FLYWHEEL_FAILPOINTS: z.string().optional(),
});
export type PlatformConfig = z.infer<typeof PlatformConfig>;

/** Object store settings (MinIO or any S3 API). */
export const S3Config = z.object({
  S3_ENDPOINT: z.string().url('S3_ENDPOINT must be a URL like http://minio:9000'),
  S3_ACCESS_KEY: z.string().min(1),
  S3_SECRET_KEY: z.string().min(1),
  S3_BUCKET: z.string().min(3).default('flywheel'),
  S3_REGION: z.string().default('us-east-1'),
});
export type S3Config = z.infer<typeof S3Config>;
