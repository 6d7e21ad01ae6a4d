#!/usr/bin/env node
// CLI: s3-local --port 9000 --directory .flywheel/s3 --bucket flywheel [--fallback-port] [--ready-file F]
import { rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startS3Local } from './server.js';

const usage =
  'usage: s3-local [--address 127.0.0.1] [--port 9000] [--fallback-port] --directory DIR [--bucket NAME]... [--ready-file FILE] [--verbose]';

const parsePort = (raw: string): number => {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`--port must be an integer 0..65535 (0 = any free port), got "${raw}"\n${usage}`);
  }
  return port;
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      address: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '9000' },
      'fallback-port': { type: 'boolean', default: false },
      directory: { type: 'string' },
      bucket: { type: 'string', multiple: true, default: [] },
      'ready-file': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.directory === undefined) throw new Error(`--directory is required\n${usage}`);

  const s3 = await startS3Local({
    address: values.address,
    port: parsePort(values.port),
    fallbackToFreePort: values['fallback-port'],
    directory: values.directory,
    buckets: values.bucket,
    verbose: values.verbose,
  });
  console.log(`s3-local listening on ${s3.endpoint} (directory ${values.directory}, buckets: ${values.bucket.join(', ') || 'none'})`);

  // The ready file appears only once the server accepts requests: callers wait for it.
  const readyFile = values['ready-file'];
  if (readyFile !== undefined) {
    await writeFile(`${readyFile}.tmp`, `${s3.endpoint}\n`);
    await rename(`${readyFile}.tmp`, readyFile);
  }

  const stop = (signal: string): void => {
    console.log(`s3-local: ${signal}, shutting down`);
    s3.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('s3-local: error while closing', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
};

main().catch((error: unknown) => {
  console.error(`s3-local: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
