import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Express } from 'express';
import { toHttpError } from '@flywheel/http';
import type { Logger } from '@flywheel/runtime';
import { retryHeaders } from './ModelUnavailable.js';
import type { PredictHandlers } from './predictHandlers.js';

/** Handles the request and returns true, or returns false to let express handle it. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

const ROUTE = /^\/v1\/models\/([a-z][a-z0-9-]{0,62})\/(predict|predict:batch|predict\/batch)$/;

/**
 * The two predict routes on bare node:http. Express's per-request machinery (router, middleware
 * chain, body-parser, res.json's header work) cost about as much as the model itself at batch 1
 * (bench:serve measures both), so the hottest routes skip it. Same parsing, same handlers, same
 * JSON errors as the express routes; anything else (other paths, non-JSON bodies) falls through.
 */
export const createFastPredictPath = (handlers: PredictHandlers, opts: { logger: Logger; bodyLimitBytes: number }): FastPath => {
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const json = JSON.stringify(body);
    // One write with a known length: no chunked encoding, no second syscall.
    res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  };
  const fail = (res: ServerResponse, model: string, err: unknown, counted: boolean): void => {
    if (!counted) handlers.countError(model, err);
    const { status, body } = toHttpError(err);
    // 503s (model not ready) are expected while a model loads; only internal errors are logged.
    if (status === 500) opts.logger.error({ err, model }, 'request failed');
    send(res, status, body, retryHeaders(err));
  };

  return (req, res) => {
    if (req.method !== 'POST' || !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return false;
    const m = ROUTE.exec(req.url ?? '');
    if (m === null) return false;
    const model = m[1] as string;
    const isBatch = m[2] !== 'predict';
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > opts.bodyLimitBytes) {
        tooLarge = true;
        fail(res, model, { type: 'entity.too.large' }, false);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return;
      let body: unknown;
      try {
        body = JSON.parse(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        fail(res, model, { type: 'entity.parse.failed', message: (err as Error).message }, false);
        return;
      }
      (isBatch ? handlers.batch(model, body) : handlers.single(model, body)).then(
        (answer) => send(res, 200, answer),
        (err: unknown) => fail(res, model, err, true),
      );
    });
    req.on('error', () => res.destroy());
    return true;
  };
};

/** Serves `app` behind an optional fast path; the returned close waits for in-flight requests. */
export const listenServing = (app: Express, fast: FastPath | undefined, port: number, host: string): Promise<{ server: Server; port: number; close: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      if (fast === undefined || !fast(req, res)) app(req, res);
    });
    server.keepAliveTimeout = 65_000;
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        server,
        port: typeof addr === 'object' && addr ? addr.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
