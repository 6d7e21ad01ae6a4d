import { describe, expect, it } from 'vitest';
import { bucketName } from './isolatedBucket.js';

describe('bucketName', () => {
  it('makes a valid S3 bucket name that ends with the run id, whatever the test is called', () => {
    expect(bucketName('ab-router', '1a2b3c4d')).toBe('t-ab-router-1a2b3c4d');
    expect(bucketName('Relay Down_2', '1a2b3c4d')).toBe('t-relay-down-2-1a2b3c4d');
    const long = bucketName('x'.repeat(80), '1a2b3c4d');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9][a-z0-9-]*-1a2b3c4d$/);
  });
});
