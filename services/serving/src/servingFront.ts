import type { IncomingMessage, ServerResponse } from 'node:http';
import { authErrorHeaders, authorize, type Client, type Keyring } from '@flywheel/auth';
import { toHttpError, type FrontHandler } from '@flywheel/http';
import { bodyLimitOf } from './bodyLimits.js';

/** Routes anyone may call: the orchestrator's probes, Prometheus and the API's OpenAPI document. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/** A handler that answers some authorized requests itself (the fast predict path) and returns true, or false to pass them on. */
export type AuthorizedFront = (req: IncomingMessage, res: ServerResponse, client: Client) => boolean;

/** Writes a JSON answer in one write with a known length (no chunked encoding, no second syscall). */
export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const json = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
};

/** Answers without reading the body; what the client still sends is drained (not buffered) so the connection stays usable. */
const refuse = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true => {
  req.resume();
  sendJson(res, status, body, headers);
  return true;
};

/**
 * What every serving request passes before anything reads its body: every route but /healthz,
 * /readyz and /metrics needs a key with the `predict` scope (401 without, 403 with the wrong scope),
 * and a declared Content-Length over the route's limit is refused with 413 at once. Then the fast
 * path (`fast`) may answer; whatever it declines goes on to express, whose routes check the key
 * again to read the client. Express parses up to the batch limit, so a body it would read for a
 * route with a smaller limit must declare its length (411 otherwise); the fast path counts bytes.
 */
export const createServingFront = (deps: { keyring: Keyring; fast?: AuthorizedFront | undefined; expressLimitBytes: number }): FrontHandler =>
  (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if (OPEN_PATHS.has(q === -1 ? url : url.slice(0, q))) return false;
    let client: Client;
    try {
      client = authorize(deps.keyring, req.headers, 'predict');
    } catch (err) {
      const { status, body } = toHttpError(err);
      return refuse(req, res, status, body, authErrorHeaders(err));
    }
    const limit = bodyLimitOf(url);
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return refuse(req, res, 413, tooLarge(limit));
    if (deps.fast?.(req, res, client) === true) return true;
    if (declared === undefined && req.headers['transfer-encoding'] !== undefined && limit < deps.expressLimitBytes) {
      return refuse(req, res, 411, { error: { code: 'length_required', message: `send this body with a Content-Length header (at most ${limit} bytes)` } });
    }
    return false;
  };

/** The 413 body of a route whose limit is `limit` bytes. */
export const tooLarge = (limit: number) => ({
  error: { code: 'payload_too_large', message: `the body is larger than this route accepts (${limit} bytes); send less text, or fewer items per batch` },
});
