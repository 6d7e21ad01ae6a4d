import { classifyError, ERROR_KINDS, FlywheelError } from '@flywheel/runtime';
import { ZodError } from 'zod';

export interface ErrorBody {
  error: { code: string; message: string; issues?: unknown; details?: unknown };
}

/** Maps any thrown value to a status and a JSON body. Unknown errors are 500s that hide internals. */
export const toHttpError = (err: unknown): { status: number; body: ErrorBody } => {
  if (err instanceof ZodError) {
    return { status: 400, body: { error: { code: 'invalid_request', message: 'the request failed validation; see issues', issues: err.issues } } };
  }
  if (err instanceof FlywheelError) {
    // The one place a domain error becomes HTTP: the kind decides the status, the reason is the code.
    const k = ERROR_KINDS[err.kind];
    const message = err.kind === 'config' || err.kind === 'corrupt' ? `${err.message}` : err.retriable ? `${err.message}; retry later` : err.message;
    return { status: k.status, body: { error: { code: err.reason ?? k.code, message, ...(err.details !== undefined ? { details: err.details } : {}) } } };
  }
  const e = err as { type?: string; status?: number; message?: string };
  // body-parser's own errors carry a status and a type.
  if (e?.type === 'entity.too.large') return { status: 413, body: { error: { code: 'payload_too_large', message: 'the body is larger than this endpoint accepts; send fewer items per request' } } };
  if (e?.type === 'entity.parse.failed') return { status: 400, body: { error: { code: 'invalid_json', message: `the body is not valid JSON: ${e.message ?? ''}` } } };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, body: { error: { code: 'bad_request', message: e.message ?? 'bad request' } } };
  // A store's own error (a PostgreSQL data error, a socket error): its status, not its internals.
  const classified = classifyError(err);
  if (classified) {
    const k = ERROR_KINDS[classified.kind];
    return { status: k.status, body: { error: { code: k.code, message: classified.retriable ? 'a dependency is unavailable; retry later' : 'the data was refused by the store; check the request for control characters or values out of range' } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; the server logged the cause' } } };
};
