import { Conflict, FlywheelError, NotFound, PoisonMessage, Unauthorized } from '@flywheel/runtime';
import { ZodError } from 'zod';

/** An error with an HTTP status and a machine-readable code, for cases the shared errors do not cover. */
export class HttpError extends FlywheelError {
  readonly retriable = false;
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; issues?: unknown; details?: unknown };
}

/** Maps any thrown value to a status and a JSON body. Unknown errors are 500s that hide internals. */
export const toHttpError = (err: unknown): { status: number; body: ErrorBody } => {
  if (err instanceof ZodError) {
    return { status: 400, body: { error: { code: 'invalid_request', message: 'the request failed validation; see issues', issues: err.issues } } };
  }
  if (err instanceof HttpError) return { status: err.status, body: { error: { code: err.code, message: err.message, details: err.details } } };
  if (err instanceof Unauthorized) return { status: err.status, body: { error: { code: err.status === 401 ? 'unauthorized' : 'forbidden', message: err.message } } };
  if (err instanceof Conflict) return { status: 409, body: { error: { code: 'conflict', message: err.message } } };
  if (err instanceof NotFound) return { status: 404, body: { error: { code: 'not_found', message: err.message } } };
  if (err instanceof PoisonMessage) return { status: 400, body: { error: { code: 'invalid_request', message: err.message } } };
  const e = err as { type?: string; status?: number; message?: string };
  // body-parser's own errors carry a status and a type.
  if (e?.type === 'entity.too.large') return { status: 413, body: { error: { code: 'payload_too_large', message: 'the body is larger than this endpoint accepts; send fewer items per request' } } };
  if (e?.type === 'entity.parse.failed') return { status: 400, body: { error: { code: 'invalid_json', message: `the body is not valid JSON: ${e.message ?? ''}` } } };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, body: { error: { code: 'bad_request', message: e.message ?? 'bad request' } } };
  if (err instanceof FlywheelError && err.retriable) return { status: 503, body: { error: { code: 'unavailable', message: `${err.message}; retry later` } } };
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; the server logged the cause' } } };
};
