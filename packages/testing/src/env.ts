import type { S3Settings } from '@flywheel/objectstore';

/** A required environment variable of the local platform, with the command that sets it. */
export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run \`bash scripts/platform.sh up\` and \`set -a; . .flywheel/platform.env; set +a\``);
  return v;
};

/** The platform's S3 server (its shared bucket is S3_BUCKET; tests never write there). */
export const s3Server = (): Omit<S3Settings, 'bucket'> => ({ endpoint: env('S3_ENDPOINT'), accessKey: env('S3_ACCESS_KEY'), secretKey: env('S3_SECRET_KEY') });
