import { DependencyDown, FlywheelError, PoisonMessage } from './errors.js';

// PostgreSQL SQLSTATE classes: 22 data exception (e.g. 22021 a NUL byte in text), 23 integrity
// constraint violation — the same row fails the same way every time. 08 connection exception,
// 53 insufficient resources, 57P01-03 admin shutdown / crash shutdown / cannot connect now, 40001
// serialization failure and 40P01 deadlock — they pass on retry.
const PG_DATA = /^(22|23)/;
const PG_TRANSIENT = /^(08|53|57P0[1-3]|40001|40P01|55P03|57014)/;
// Node socket and DNS errors of a peer that is down or unreachable.
const NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * What a thrown value means for the caller: a FlywheelError as it is; a PostgreSQL data error is a
 * PoisonMessage (dead-letter, never retry), a PostgreSQL or socket outage is DependencyDown (retry).
 * Anything else — a bug — is undefined: the caller decides (the bus retries a few times, then dead-letters).
 */
export const classifyError = (err: unknown): FlywheelError | undefined => {
  if (err instanceof FlywheelError) return err;
  const e = err as { code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown }; statusCode?: unknown } | null;
  if (e === null || typeof e !== 'object') return undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (PG_DATA.test(code)) return new PoisonMessage(`the database refused the data (SQLSTATE ${code}): ${message}`, { cause: err, reason: `sqlstate_${code}` });
    if (PG_TRANSIENT.test(code)) return new DependencyDown(`the database is unavailable (SQLSTATE ${code}): ${message}; retry`, { cause: err });
  }
  if (NET.has(code)) return new DependencyDown(`a dependency is unreachable (${code}): ${message}; retry`, { cause: err });
  const status = typeof e.statusCode === 'number' ? e.statusCode : e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return new DependencyDown(`a dependency answered ${status}: ${message}; retry`, { cause: err });
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
    return new DependencyDown(`the database connection failed: ${message}; retry`, { cause: err });
  }
  return undefined;
};

/** Whether an unknown thrown value is worth retrying. Unclassified errors count as retriable: losing work is worse than a retry. */
export const isRetriable = (err: unknown): boolean => classifyError(err)?.retriable ?? true;
