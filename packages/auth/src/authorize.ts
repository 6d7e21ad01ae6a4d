import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { ConfigError, RateLimited, Unauthorized } from '@flywheel/runtime';
import { presentedKey } from './apiKey.js';
import { hasScope, type Client, type Scope } from './client.js';
import type { Keyring } from './createKeyring.js';

const REALM = 'Bearer realm="flywheel"';

/**
 * The client a request's headers authenticate, if it holds `scope`. Throws Unauthorized: 401
 * (reason `missing_key` or `unknown_key`) without a valid key, 403 (`missing_scope`) when the key
 * lacks the scope. Synchronous and in memory: for hot paths on bare node:http.
 */
export const authorize = (keyring: Keyring, headers: IncomingHttpHeaders, scope: Scope): Client => {
  const key = presentedKey(headers);
  if (key === undefined) {
    throw new Unauthorized(`this route needs an API key with the "${scope}" scope: send Authorization: Bearer <key> or X-Api-Key: <key> (an operator issues keys with flywheel keys create)`, 401, { reason: 'missing_key' });
  }
  const client = keyring.authenticate(key);
  if (client === undefined) {
    throw new Unauthorized('this API key is not valid (unknown or revoked); ask an operator for a key (flywheel keys create)', 401, { reason: 'unknown_key' });
  }
  if (!hasScope(client, scope)) {
    throw new Unauthorized(`client "${client.name}" may not use this route: it needs the "${scope}" scope, the key has ${client.scopes.join(', ')}`, 403, { reason: 'missing_scope' });
  }
  return client;
};

/**
 * Headers an auth or rate-limit error is answered with: WWW-Authenticate on 401 and 403
 * (RFC 6750), Retry-After on 429. For code that writes its own responses (serving's fast path).
 */
export const authErrorHeaders = (err: unknown): Record<string, string> => {
  if (err instanceof Unauthorized) {
    if (err.status === 403) return { 'www-authenticate': `${REALM}, error="insufficient_scope"` };
    return { 'www-authenticate': err.reason === 'unknown_key' ? `${REALM}, error="invalid_token"` : REALM };
  }
  if (err instanceof RateLimited) {
    const seconds = (err.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (typeof seconds === 'number') return { 'retry-after': String(seconds) };
  }
  return {};
};

/** Sets authErrorHeaders(err) on an express response, then hands the error to the error handler. */
export const failWithHeaders = (res: Response, next: NextFunction, err: unknown): void => {
  res.set(authErrorHeaders(err));
  next(err);
};

/**
 * Express middleware: the request needs a key with `scope` (401/403 otherwise, through the app's
 * error handler). The client is then on `res.locals.client`; read it with clientOf(res).
 */
export const requireScope = (keyring: Keyring, scope: Scope) => (req: Request, res: Response, next: NextFunction): void => {
  let client: Client;
  try {
    client = authorize(keyring, req.headers, scope);
  } catch (err) {
    failWithHeaders(res, next, err);
    return;
  }
  res.locals.client = client;
  next();
};

/** The client requireScope authenticated for this request; a route without requireScope in front is a wiring bug (500). */
export const clientOf = (res: Response): Client => {
  const client: unknown = res.locals.client;
  if (client === undefined || client === null || typeof client !== 'object') {
    throw new ConfigError(`route ${String(res.req.method)} ${String(res.req.path)} reads the client but has no requireScope in front of it`);
  }
  return client as Client;
};
