import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MinioObjectStore } from './index.js';

const settings = {
  endpoint: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
  accessKey: process.env.S3_ACCESS_KEY ?? 'S3RVER',
  secretKey: process.env.S3_SECRET_KEY ?? 'S3RVER',
  bucket: process.env.S3_BUCKET ?? 'flywheel',
};

describe('MinioObjectStore (real S3 API)', () => {
  it('puts, gets, lists and removes objects, and says a missing key is missing', async () => {
    const store = await MinioObjectStore.fromSettings(settings);
    const p = `itest/${randomUUID()}`;
    await store.put(`${p}/a.bin`, new Uint8Array([1, 2, 3]));
    await store.put(`${p}/b.json`, '{"x":1}', 'application/json');
    expect([...(await store.get(`${p}/a.bin`))]).toEqual([1, 2, 3]);
    expect(await store.list(p)).toEqual([`${p}/a.bin`, `${p}/b.json`]);
    expect(await store.exists(`${p}/a.bin`)).toBe(true);
    await store.remove([`${p}/a.bin`, `${p}/b.json`]);
    expect(await store.exists(`${p}/a.bin`)).toBe(false);
    await expect(store.get(`${p}/a.bin`)).rejects.toThrow(/does not exist/);
  });
});
