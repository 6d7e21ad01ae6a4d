import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { onModelUpdate } from './onModelUpdate.js';

const env = { KAFKA_BROKERS: 'k:9092', POSTGRES_URL: 'postgres://p@h:5432/d', REDIS_URL: 'redis://r:6379', S3_ENDPOINT: 'http://s3:9000', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b', ADMIN_TOKEN: 'a'.repeat(16) };

describe('loadConfig', () => {
  it('applies defaults and splits the model list', () => {
    const c = loadConfig({ ...env, SERVING_MODELS: 'shop, support' });
    expect(c.PORT).toBe(8080);
    expect(c.SERVING_MODELS).toEqual(['shop', 'support']);
    expect(c.SERVING_FAST_PATH).toBe(true);
    expect(loadConfig({ ...env, SERVING_FAST_PATH: 'false' }).SERVING_FAST_PATH).toBe(false);
    expect(c.PREDICT_RATE_LIMIT_PER_MINUTE).toBe(60_000);
  });
  it('requires an ADMIN_TOKEN of at least 16 characters', () => {
    const { ADMIN_TOKEN: _, ...without } = env;
    expect(() => loadConfig(without)).toThrow(/ADMIN_TOKEN/);
    expect(() => loadConfig({ ...env, ADMIN_TOKEN: 'short' })).toThrow(/at least 16 characters/);
  });
  it('names every missing variable', () => {
    expect(() => loadConfig({ KAFKA_BROKERS: 'k:9092' })).toThrow(/POSTGRES_URL[\s\S]*REDIS_URL[\s\S]*S3_ENDPOINT/);
  });
});

describe('onModelUpdate', () => {
  it('skips models this replica does not serve unless it follows all', async () => {
    const applied: string[] = [];
    const host = { knows: (m: string) => m === 'shop', apply: async (m: string) => void applied.push(m) };
    const event = (subject: string) => ({ subject, data: { action: 'rejected', version: '1.0.1', reason: 'x' } }) as never;
    await onModelUpdate({ host, followAll: false })(event('other'));
    await onModelUpdate({ host, followAll: false })(event('shop'));
    await onModelUpdate({ host, followAll: true })(event('other'));
    expect(applied).toEqual(['shop', 'other']);
  });
});
