import { randomUUID } from 'node:crypto';
import * as Minio from 'minio';
import { afterAll, describe, expect, it } from 'vitest';
import { MinioObjectStore } from './index.js';

const endpoint = new URL(process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000');
// A bucket of this run's own (never the shared S3_BUCKET), emptied and removed at the end.
const settings = {
  endpoint: endpoint.toString(),
  accessKey: process.env.S3_ACCESS_KEY ?? 'S3RVER',
  secretKey: process.env.S3_SECRET_KEY ?? 'S3RVER',
  bucket: `t-objectstore-${randomUUID().slice(0, 8)}`,
};

afterAll(async () => {
  const client = new Minio.Client({ endPoint: endpoint.hostname, port: Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80)), useSSL: endpoint.protocol === 'https:', accessKey: settings.accessKey, secretKey: settings.secretKey, pathStyle: true });
  if (!(await client.bucketExists(settings.bucket))) return;
  for await (const item of client.listObjectsV2(settings.bucket, '', true)) if (item.name) await client.removeObject(settings.bucket, item.name);
  await client.removeBucket(settings.bucket);
});

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
