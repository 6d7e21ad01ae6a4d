import type { ServerResponse } from 'node:http';
import { authErrorHeaders, type RateLimits } from '@flywheel/auth';
import { toHttpError } from '@flywheel/http';
import type { Logger } from '@flywheel/runtime';
import { bodyLimitOf } from './bodyLimits.js';
import { retryHeaders } from './ModelUnavailable.js';
import type { PredictHandlers } from './predictHandlers.js';
import { sendJson, tooLarge, type AuthorizedFront } from './servingFront.js';

const ROUTE = /^\/v1\/models\/([a-z][a-z0-9-]{0,62})\/(predict|predict:batch|predict\/batch)$/;

/**
 * The predict routes on bare node:http. Express's per-request machinery (router, middleware
 * chain, body-parser, res.json's header work) cost about as much as the model itself at batch 1
 * (bench:serve measures both), so the hottest routes skip it. Same parsing, same handlers, same
 * JSON errors as the express routes; anything else (other paths, non-JSON bodies) falls through.
 * It runs behind createServingFront, which has authorized the client; main.ts wires both with svc.front().
 * The client's rate limit is checked while the body arrives (429 with Retry-After when spent), and
 * the body is counted as it comes: 413 once it passes the route's limit, whatever the headers said.
 */
export const createFastPredictPath = (handlers: PredictHandlers, opts: { logger: Logger; limits: RateLimits }): AuthorizedFront => {
  const fail = (res: ServerResponse, model: string, err: unknown, counted: boolean): void => {
    if (!counted) handlers.countError(model, err);
    const { status, body } = toHttpError(err);
    // 503s (model not ready) are expected while a model loads; only internal errors are logged.
    if (status === 500) opts.logger.error({ err, model }, 'request failed');
    sendJson(res, status, body, retryHeaders(err));
  };

  return (req, res, client) => {
    if (req.method !== 'POST' || !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return false;
    const url = req.url ?? '';
    const m = ROUTE.exec(url);
    if (m === null) return false;
    const model = m[1] as string;
    const isBatch = m[2] !== 'predict';
    const limit = bodyLimitOf(url);
    // Settles to the RateLimited error, or undefined when the client may go on; read once the body is in.
    const allowed = opts.limits.consume(client, 'predict').then(() => undefined, (err: unknown) => err);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      size += chunk.length;
      if (size > limit) {
        tooBig = true;
        chunks.length = 0;
        handlers.countError(model, { type: 'entity.too.large' });
        sendJson(res, 413, tooLarge(limit));
        return; // the rest is read and dropped: the connection stays usable
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooBig) return;
      void allowed.then((refused) => {
        if (refused !== undefined) {
          const { status, body } = toHttpError(refused);
          sendJson(res, status, body, authErrorHeaders(refused));
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          fail(res, model, { type: 'entity.parse.failed', message: (err as Error).message }, false);
          return;
        }
        return (isBatch ? handlers.batch(model, body, client.name) : handlers.single(model, body, client.name)).then(
          (answer) => sendJson(res, 200, answer),
          (err: unknown) => fail(res, model, err, true),
        );
      });
    });
    req.on('error', () => res.destroy());
    return true;
  };
};
