import { readFileSync } from 'node:fs';
import type { KafkaConfig } from 'kafkajs';
import { z } from 'zod';
import { ConfigError, envBoolean, parseOrExplain } from '@flywheel/runtime';

/** An unset variable and an empty one (`KAFKA_SASL_MECHANISM=` in a ConfigMap) mean the same. */
const unsetIfEmpty = <S extends z.ZodTypeAny>(s: S) => z.preprocess((v) => (v === '' ? undefined : v), s.optional());

const MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;
export type SaslMechanism = (typeof MECHANISMS)[number];

/**
 * The broker security variables, merged into every service's config. SASL SCRAM authenticates a
 * service to the brokers (and lets ACLs decide who may write where); TLS encrypts the connection.
 */
export const KafkaSecurityConfig = z.object({
  /** scram-sha-512, scram-sha-256 or plain (any case); unset: no SASL. */
  KAFKA_SASL_MECHANISM: unsetIfEmpty(
    z.string().transform((s) => s.toLowerCase()).pipe(z.enum(MECHANISMS, { message: `KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')}` })),
  ),
  KAFKA_SASL_USERNAME: unsetIfEmpty(z.string()),
  KAFKA_SASL_PASSWORD: unsetIfEmpty(z.string()),
  /** TLS to the brokers (true/false); the system trust store unless KAFKA_TLS_CA_FILE is set. */
  KAFKA_TLS: unsetIfEmpty(envBoolean).transform((v) => v ?? false),
  /** PEM file of the CA that signed the brokers' certificates (a private CA). */
  KAFKA_TLS_CA_FILE: unsetIfEmpty(z.string()),
});
export type KafkaSecurityConfig = z.infer<typeof KafkaSecurityConfig>;

/** The rules between the variables, on parsed values (so a service's parsed config can be checked). */
const KafkaSecurityRules = z
  .object({
    KAFKA_SASL_MECHANISM: z.enum(MECHANISMS).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
    KAFKA_TLS: z.boolean(),
    KAFKA_TLS_CA_FILE: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const issue = (path: keyof KafkaSecurityConfig, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
    if (c.KAFKA_SASL_MECHANISM !== undefined) {
      if (c.KAFKA_SASL_USERNAME === undefined) issue('KAFKA_SASL_USERNAME', `is required with KAFKA_SASL_MECHANISM=${c.KAFKA_SASL_MECHANISM}`);
      if (c.KAFKA_SASL_PASSWORD === undefined) issue('KAFKA_SASL_PASSWORD', `is required with KAFKA_SASL_MECHANISM=${c.KAFKA_SASL_MECHANISM}`);
      if (c.KAFKA_SASL_MECHANISM === 'plain' && !c.KAFKA_TLS) issue('KAFKA_TLS', 'must be true with KAFKA_SASL_MECHANISM=plain (PLAIN sends the password in clear); or use scram-sha-512');
    } else if (c.KAFKA_SASL_USERNAME !== undefined || c.KAFKA_SASL_PASSWORD !== undefined) {
      issue('KAFKA_SASL_MECHANISM', `is required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set: one of ${MECHANISMS.join(', ')}`);
    }
    if (c.KAFKA_TLS_CA_FILE !== undefined && !c.KAFKA_TLS) issue('KAFKA_TLS', 'must be true when KAFKA_TLS_CA_FILE is set');
  });

/** How the bus connects to the brokers. */
export interface KafkaSecurity {
  /** TLS; `ca` (PEM) replaces the system trust store. */
  tls?: { ca?: string };
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

/**
 * Checks the variables together and builds the bus's security settings, reading the CA file.
 * Throws a ConfigError naming each variable to set or fix (not retriable: fix the config).
 */
export const kafkaSecurityFromConfig = (
  config: KafkaSecurityConfig,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): KafkaSecurity => {
  const c = parseOrExplain(KafkaSecurityRules, config, 'Kafka security settings');
  const out: KafkaSecurity = {};
  if (c.KAFKA_TLS) {
    let ca: string | undefined;
    if (c.KAFKA_TLS_CA_FILE !== undefined) {
      try {
        ca = readFile(c.KAFKA_TLS_CA_FILE);
      } catch (err) {
        throw new ConfigError(`Invalid Kafka security settings: set or fix these variables and start again:\n  - KAFKA_TLS_CA_FILE: cannot read ${c.KAFKA_TLS_CA_FILE} (${(err as Error).message}); mount the CA certificate (PEM) there or unset it`);
      }
    }
    out.tls = ca === undefined ? {} : { ca };
  }
  if (c.KAFKA_SASL_MECHANISM !== undefined && c.KAFKA_SASL_USERNAME !== undefined && c.KAFKA_SASL_PASSWORD !== undefined) {
    out.sasl = { mechanism: c.KAFKA_SASL_MECHANISM, username: c.KAFKA_SASL_USERNAME, password: c.KAFKA_SASL_PASSWORD };
  }
  return out;
};

/** The kafkajs client options (`ssl`, `sasl`) of the security settings; nothing when there are none. */
export const kafkaClientSecurity = (s: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> => {
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (s?.tls) out.ssl = s.tls.ca === undefined ? true : { ca: [s.tls.ca] };
  if (s?.sasl) {
    const { username, password } = s.sasl;
    switch (s.sasl.mechanism) {
      case 'scram-sha-512': out.sasl = { mechanism: 'scram-sha-512', username, password }; break;
      case 'scram-sha-256': out.sasl = { mechanism: 'scram-sha-256', username, password }; break;
      case 'plain': out.sasl = { mechanism: 'plain', username, password }; break;
    }
  }
  return out;
};
