import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@flywheel/runtime';
import { Histogram, type Registry } from 'prom-client';
import { toHttpError } from './httpErrors.js';

/** A check's verdict: a boolean, or one with details that /readyz shows under `details.<name>`. */
export type ReadinessResult = boolean | { ok: boolean; details?: unknown };
/** A named readiness check; a throw or a false verdict makes /readyz answer 503. */
export type ReadinessCheck = { name: string; check: () => Promise<ReadinessResult> | ReadinessResult };

export interface HttpAppOptions {
  service: string;
  logger: Logger;
  metrics: Registry;
  readiness?: ReadinessCheck[];
  /** Largest JSON body accepted; bigger bodies get 413. */
  bodyLimit?: string;
  /** Adds the routes of the service. Runs after the health routes and before the error handler. */
  routes: (app: Express) => void;
}

/**
 * The express app every service serves: /healthz (alive), /readyz (dependencies reachable),
 * /metrics (Prometheus), a request-duration histogram, JSON errors (ZodError → 400 with the issues).
 */
export const createHttpApp = (opts: HttpAppOptions): Express => {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const duration = new Histogram({
    name: `flywheel_http_request_duration_seconds`,
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [opts.metrics],
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      duration.observe({ method: req.method, route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  });
  app.use(express.json({ limit: opts.bodyLimit ?? '1mb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: opts.service });
  });
  app.get('/readyz', async (_req, res) => {
    const results: Record<string, string> = {};
    const details: Record<string, unknown> = {};
    let ready = true;
    for (const c of opts.readiness ?? []) {
      try {
        const verdict = await c.check();
        const ok = typeof verdict === 'boolean' ? verdict : verdict.ok;
        if (typeof verdict !== 'boolean' && verdict.details !== undefined) details[c.name] = verdict.details;
        results[c.name] = ok ? 'ok' : 'not ready';
        ready &&= ok;
      } catch (err) {
        results[c.name] = `error: ${(err as Error).message}`;
        ready = false;
      }
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: results, ...(Object.keys(details).length > 0 ? { details } : {}) });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', opts.metrics.contentType);
    res.send(await opts.metrics.metrics());
  });

  opts.routes(app);

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'not_found', message: 'no such route' } });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) opts.logger.error({ err, method: req.method, path: req.path }, 'request failed');
    res.status(status).json(body);
  });
  return app;
};

/**
 * A handler in front of express on the same server (serving's predict routes on bare node:http):
 * it answers the request and returns true, or returns false to let express handle it.
 */
export type FrontHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Starts listening and resolves once bound; the returned close waits for in-flight requests. */
export const listen = (app: Express, port: number, host = '0.0.0.0', front?: FrontHandler): Promise<{ server: Server; port: number; close: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const server = (front ? createServer((req, res) => { if (!front(req, res)) void app(req, res); }) : createServer(app)).listen(port, host);
    server.keepAliveTimeout = 65_000;
    server.once('error', reject);
    server.once('listening', () => {
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({
        server,
        port: bound,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            server.closeIdleConnections();
          }),
      });
    });
  });
