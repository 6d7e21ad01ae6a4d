import { describe, expect, it } from 'vitest';
import { ConfigError, parseOrExplain } from '@flywheel/runtime';
import { createService } from './createService.js';
import { ServiceConfig } from './serviceConfig.js';

const base = { KAFKA_BROKERS: 'kafka:9092', POSTGRES_URL: 'postgres://u@h:5432/db', REDIS_URL: 'redis://h:6379', PORT: '0', LOG_LEVEL: 'silent' };

describe('Kafka SASL/TLS in every service config', () => {
  it('parses the variables, with no TLS and no SASL by default', () => {
    const plain = parseOrExplain(ServiceConfig, base);
    expect(plain.KAFKA_TLS).toBe(false);
    expect(plain.KAFKA_SASL_MECHANISM).toBeUndefined();
    const c = parseOrExplain(ServiceConfig, { ...base, KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' });
    expect(c).toMatchObject({ KAFKA_TLS: true, KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'svc' });
  });

  it('refuses to create a service whose SASL mechanism has no username, naming the variable', () => {
    const config = parseOrExplain(ServiceConfig, { ...base, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'pw' });
    expect(() => createService({ name: 'cfg-test', config, handleSignals: false })).toThrow(ConfigError);
    expect(() => createService({ name: 'cfg-test', config, handleSignals: false })).toThrow(/KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=scram-sha-512/);
  });
});
