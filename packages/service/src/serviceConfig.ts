import { z } from 'zod';
import { KafkaSecurityConfig } from '@flywheel/bus';
import { PlatformConfig } from '@flywheel/runtime';

/**
 * What every service's config has, with the same names everywhere: the platform addresses
 * (PlatformConfig) plus where this deployment's data lives. A service extends it with its own
 * variables and its PORT default.
 */
export const ServiceConfig = PlatformConfig.extend({
  PORT: z.coerce.number().int().min(0).max(65_535),
  /** PostgreSQL schema of the deployment (first on every connection's search_path). */
  PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'PG_SCHEMA must be a lower-case SQL identifier').default('public'),
  PG_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /** Prefix of every Redis key (locks, counters, routing, dedupe): several deployments on one Redis. */
  REDIS_PREFIX: z.string().min(1).default('flywheel'),
  /**
   * How long the consume loop remembers a processed event id (hours): what redelivery can repeat is
   * an uncommitted batch after a crash or rebalance and an outbox row re-published after a relay
   * crash, both minutes; 6 h leaves room for a consumer down a few hours (see RedisDedupe).
   */
  DEDUPE_WINDOW_HOURS: z.coerce.number().positive().max(168).default(6),
  /** Sent rows of the shared outbox older than this are deleted (relay.prune, hourly): long enough to inspect what went out. */
  OUTBOX_SENT_KEEP_DAYS: z.coerce.number().positive().default(7),
  /** Prepended to every topic name and consumer group: several deployments on one broker. */
  TOPIC_PREFIX: z.string().default(''),
  /** TLS and SASL (SCRAM) to the brokers: KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_SASL_MECHANISM|USERNAME|PASSWORD. */
  ...KafkaSecurityConfig.shape,
});
export type ServiceConfig = z.infer<typeof ServiceConfig>;
