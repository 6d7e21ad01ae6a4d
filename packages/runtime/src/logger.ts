import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths never written to logs, wherever they appear. */
const redact = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'apiKey', '*.apiKey',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'req.headers["x-api-key"]', 'headers["x-api-key"]', 'config.ADMIN_TOKEN', 'config.API_KEY', 'config.S3_SECRET_KEY',
];

/** A JSON logger for one process; secrets are redacted by path. */
export const createLogger = (opts: { service: string; level?: string; destination?: NodeJS.WritableStream }): Logger =>
  pino(
    { name: opts.service, level: opts.level ?? 'info', redact: { paths: redact, censor: '[redacted]' }, base: { service: opts.service } },
    opts.destination ?? process.stdout,
  );
