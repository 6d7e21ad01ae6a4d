import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseOrExplain, PlatformConfig } from './index.js';

describe('parseOrExplain', () => {
  it('names every missing or bad variable in one error', () => {
    const schema = PlatformConfig.extend({ PORT: z.coerce.number().int() });
    let err: unknown;
    try {
      parseOrExplain(schema, { POSTGRES_URL: 'not a url', PORT: 'eighty' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('KAFKA_BROKERS: is required but not set');
    expect(msg).toContain('REDIS_URL: is required but not set');
    expect(msg).toContain('POSTGRES_URL: POSTGRES_URL must be a URL');
    expect(msg).toContain('PORT:');
  });

  it('returns typed values with defaults and lists split', () => {
    const c = parseOrExplain(PlatformConfig, { KAFKA_BROKERS: 'a:1, b:2', POSTGRES_URL: 'postgres://x@h/db', REDIS_URL: 'redis://h:6379' });
    expect(c.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(c.LOG_LEVEL).toBe('info');
  });
});
