import * as Minio from 'minio';
import { DependencyDown, NotFound } from '@flywheel/runtime';
import type { ObjectStore } from './ObjectStore.js';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
}

const isMissing = (err: unknown): boolean => {
  const code = (err as { code?: string })?.code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
};

/** ObjectStore over the minio client; path-style so it works with MinIO and other S3 servers alike. */
export class MinioObjectStore implements ObjectStore {
  private constructor(private readonly client: Minio.Client, readonly bucket: string, private readonly region: string) {}

  /** Builds the client from settings and makes sure the bucket exists. */
  static async fromSettings(s: S3Settings): Promise<MinioObjectStore> {
    const url = new URL(s.endpoint);
    const client = new Minio.Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
      useSSL: url.protocol === 'https:',
      accessKey: s.accessKey,
      secretKey: s.secretKey,
      region: s.region ?? 'us-east-1',
      pathStyle: true,
    });
    const store = new MinioObjectStore(client, s.bucket, s.region ?? 'us-east-1');
    await store.ensureBucket();
    return store;
  }

  async ensureBucket(): Promise<void> {
    try {
      if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists') return;
      throw new DependencyDown(`object store unreachable or bucket "${this.bucket}" cannot be created: ${(err as Error).message}`, { cause: err });
    }
  }

  async put(key: string, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
    const buf = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    await this.client.putObject(this.bucket, key, buf, buf.length, { 'Content-Type': contentType });
  }

  async get(key: string): Promise<Buffer> {
    try {
      const stream = await this.client.getObject(this.bucket, key);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      if (isMissing(err)) throw new NotFound(`object ${this.bucket}/${key} does not exist`, { cause: err });
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.statObject(this.bucket, key);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
      const name = (item as { name?: string }).name;
      if (name) keys.push(name);
    }
    return keys.sort();
  }

  async remove(keys: readonly string[]): Promise<void> {
    // One by one: some S3-compatible servers do not implement multi-object delete.
    for (const k of keys) await this.client.removeObject(this.bucket, k);
  }
}
