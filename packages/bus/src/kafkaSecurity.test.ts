import { describe, expect, it } from 'vitest';
import { ConfigError, parseOrExplain } from '@flywheel/runtime';
import { KafkaSecurityConfig, kafkaClientSecurity, kafkaSecurityFromConfig } from './kafkaSecurity.js';

const parse = (env: Record<string, string>) => parseOrExplain(KafkaSecurityConfig, env);
const noFile = (path: string): string => { throw new Error(`ENOENT: no such file, open '${path}'`); };
const explain = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('Kafka security settings from the environment', () => {
  it('means plaintext without SASL when nothing (or only empty values) is set', () => {
    expect(kafkaSecurityFromConfig(parse({}))).toEqual({});
    expect(kafkaSecurityFromConfig(parse({ KAFKA_SASL_MECHANISM: '', KAFKA_SASL_USERNAME: '', KAFKA_TLS: '', KAFKA_TLS_CA_FILE: '' }))).toEqual({});
    expect(kafkaClientSecurity({})).toEqual({});
  });

  it('builds SCRAM over TLS with a private CA, accepting the mechanism in any case', () => {
    const env = { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'flywheel-trainer', KAFKA_SASL_PASSWORD: 's3cret', KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: '/etc/kafka/ca.pem' };
    const s = kafkaSecurityFromConfig(parse(env), (p) => `PEM of ${p}`);
    expect(s).toEqual({ tls: { ca: 'PEM of /etc/kafka/ca.pem' }, sasl: { mechanism: 'scram-sha-512', username: 'flywheel-trainer', password: 's3cret' } });
    expect(kafkaClientSecurity(s)).toEqual({ ssl: { ca: ['PEM of /etc/kafka/ca.pem'] }, sasl: { mechanism: 'scram-sha-512', username: 'flywheel-trainer', password: 's3cret' } });
  });

  it('builds SCRAM-SHA-256 without TLS, TLS alone with the system trust store, and PLAIN over TLS', () => {
    expect(kafkaClientSecurity(kafkaSecurityFromConfig(parse({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }))))
      .toEqual({ sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' } });
    expect(kafkaClientSecurity(kafkaSecurityFromConfig(parse({ KAFKA_TLS: 'true' })))).toEqual({ ssl: true });
    expect(kafkaClientSecurity(kafkaSecurityFromConfig(parse({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_TLS: '1' }))))
      .toEqual({ ssl: true, sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
  });

  it('names an unknown mechanism and a bad boolean', () => {
    const msg = explain(() => parse({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_TLS: 'maybe' }));
    expect(msg).toMatch(/KAFKA_SASL_MECHANISM: KAFKA_SASL_MECHANISM must be one of scram-sha-512, scram-sha-256, plain/);
    expect(msg).toMatch(/KAFKA_TLS:/);
  });

  it('is a ConfigError naming the variable when a mechanism lacks its username or password', () => {
    const msg = explain(() => kafkaSecurityFromConfig(parse({ KAFKA_SASL_MECHANISM: 'scram-sha-512' })));
    expect(msg).toMatch(/KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=scram-sha-512/);
    expect(msg).toMatch(/KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM=scram-sha-512/);
    expect(explain(() => kafkaSecurityFromConfig(parse({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' })))).not.toMatch(/KAFKA_SASL_USERNAME/);
  });

  it('refuses credentials without a mechanism, PLAIN in clear, and a CA file without TLS', () => {
    expect(explain(() => kafkaSecurityFromConfig(parse({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })))).toMatch(/KAFKA_SASL_MECHANISM: is required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set/);
    expect(explain(() => kafkaSecurityFromConfig(parse({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })))).toMatch(/KAFKA_TLS: must be true with KAFKA_SASL_MECHANISM=plain/);
    expect(explain(() => kafkaSecurityFromConfig(parse({ KAFKA_TLS_CA_FILE: '/ca.pem' })))).toMatch(/KAFKA_TLS: must be true when KAFKA_TLS_CA_FILE is set/);
  });

  it('names KAFKA_TLS_CA_FILE when the CA cannot be read', () => {
    expect(explain(() => kafkaSecurityFromConfig(parse({ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: '/missing/ca.pem' }), noFile))).toMatch(/KAFKA_TLS_CA_FILE: cannot read \/missing\/ca.pem \(ENOENT/);
  });
});
