// The object-store part of a test's private platform: a bucket of its own on the platform's S3 server.
import * as Minio from 'minio';
import { MinioObjectStore, type S3Settings } from '@flywheel/objectstore';
import { s3Server } from './env.js';

/**
 * Artifact keys are always `models/<model>/...` (MinioArtifactStore has no key prefix), so a test
 * cannot be kept apart inside the shared bucket: it gets a bucket of its own instead.
 */
export const bucketName = (name: string, run: string): string => {
  const slug = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `t-${slug}`.slice(0, 63 - run.length - 1).replace(/-+$/, '') + `-${run}`;
};

/** A minio client for the settings' endpoint (path-style, like MinioObjectStore). */
export const s3Client = (s: Omit<S3Settings, 'bucket'>): Minio.Client => {
  const url = new URL(s.endpoint);
  return new Minio.Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    useSSL: url.protocol === 'https:',
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    region: s.region ?? 'us-east-1',
    pathStyle: true,
  });
};

/** Every object key in `bucket` (all prefixes). */
export const listKeys = async (client: Minio.Client, bucket: string, prefix = ''): Promise<string[]> => {
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true)) {
    const name = (item as { name?: string }).name;
    if (name) keys.push(name);
  }
  return keys;
};

/**
 * Removes every object under `prefix` ('' = all), one request each and one at a time: some S3
 * servers have no multi-object delete, and s3rver answers 500 to deletes racing on one folder.
 * Returns how many it removed.
 */
export const removeKeys = async (client: Minio.Client, bucket: string, prefix = ''): Promise<number> => {
  const keys = await listKeys(client, bucket, prefix);
  for (const k of keys) await client.removeObject(bucket, k);
  return keys.length;
};

/** Empties and removes `bucket` if it exists; throws when anything is left. */
export const removeBucket = async (client: Minio.Client, bucket: string): Promise<void> => {
  if (!(await client.bucketExists(bucket))) return;
  await removeKeys(client, bucket);
  await client.removeBucket(bucket);
  if (await client.bucketExists(bucket)) throw new Error(`bucket ${bucket} still exists after removal`);
};

/**
 * A unique bucket on the platform's S3 server, created on first use by `store()` (or by the code
 * under test from `settings`); `drop()` empties and removes it whoever created it.
 */
export const isolatedBucket = (name: string, run: string, server: () => Omit<S3Settings, 'bucket'> = s3Server) => {
  const bucket = bucketName(name, run);
  let settings: S3Settings | undefined;
  let store: Promise<MinioObjectStore> | undefined;
  const settingsOf = (): S3Settings => (settings ??= { ...server(), bucket });
  return {
    bucket,
    /** S3 settings naming this test's bucket; pass them to code that builds its own store. */
    get settings(): S3Settings {
      return settingsOf();
    },
    /** A store on this test's bucket (created on the first call). */
    store(): Promise<MinioObjectStore> {
      return (store ??= MinioObjectStore.fromSettings(settingsOf()));
    },
    /** Empties and removes the bucket if this test used S3 at all (settings or store). */
    async drop(): Promise<void> {
      if (settings !== undefined) await removeBucket(s3Client(settings), bucket);
    },
  };
};
