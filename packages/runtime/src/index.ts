export { FlywheelError, PoisonMessage, DependencyDown, ConfigError, Conflict, NotFound, Unauthorized, isRetriable } from './errors.js';
export { parseOrExplain, commaList, envBoolean, PlatformConfig, S3Config } from './config.js';
export { parseEnvFile } from './parseEnvFile.js';
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { createMetricsRegistry } from './metrics.js';
export { createShutdown } from './shutdown.js';
export type { Shutdown, Closer } from './shutdown.js';
export { backoffMs, sleep } from './backoff.js';
