import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3_LOCAL_CREDENTIALS, startS3Local, type S3Local } from './server.js';

// Self-contained: starts its own server on a free port, so it needs no platform.
describe('startS3Local with the minio client', () => {
  let dir: string;
  let s3: S3Local;
  let client: Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3-local-'));
    s3 = await startS3Local({ port: 0, directory: dir, buckets: ['flywheel'] });
    const url = new URL(s3.endpoint);
    client = new Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      pathStyle: true,
      region: 'us-east-1',
      ...S3_LOCAL_CREDENTIALS,
    });
  });

  afterAll(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates configured buckets at start', async () => {
    expect(await client.bucketExists('flywheel')).toBe(true);
  });

  it('makes a bucket, puts, gets, lists and removes an object', async () => {
    const bucket = `itest-${Date.now()}`;
    await client.makeBucket(bucket, 'us-east-1');
    await client.putObject(bucket, 'a/b.json', Buffer.from('{"ok":true}'), undefined, { 'Content-Type': 'application/json' });

    const body = await client.getObject(bucket, 'a/b.json');
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('{"ok":true}');

    const names: string[] = [];
    for await (const item of client.listObjectsV2(bucket, 'a/', true)) {
      if (typeof item.name === 'string') names.push(item.name);
    }
    expect(names).toEqual(['a/b.json']);

    await client.removeObject(bucket, 'a/b.json');
    await expect(client.statObject(bucket, 'a/b.json')).rejects.toThrow();
    await client.removeBucket(bucket);
  });

  it('falls back to a free port only when asked', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      await expect(startS3Local({ port: taken, directory: dir })).rejects.toThrow(/already in use/);
      const other = await startS3Local({ port: taken, fallbackToFreePort: true, directory: dir });
      expect(other.port).not.toBe(taken);
      await other.close();
    } finally {
      blocker.close();
    }
  });
});
