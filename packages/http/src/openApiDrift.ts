// Checks that a service's committed OpenAPI document still says what its code does. Plain functions
// returning what differs, so a service's test asserts on them and this package needs no test runner.
import { readFileSync } from 'node:fs';
import type { Express } from 'express';

/** The part of an OpenAPI document these checks read: operations by path, then by method. */
export interface OpenApiPaths {
  paths: Record<string, Record<string, unknown>>;
}

/**
 * Undefined when `file` holds exactly `rendered` (the document generated from the zod schemas now);
 * else what is stale, where the two first differ, and `regenerate`, the command that rewrites it.
 */
export const openApiFileDrift = (file: string, rendered: string, regenerate: string): string | undefined => {
  const onDisk = readFileSync(file, 'utf8');
  if (onDisk === rendered) return undefined;
  const [a, b] = [onDisk.split('\n'), rendered.split('\n')];
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line += 1;
  return `${file} is not what the schemas render now (line ${line + 1}: on disk ${JSON.stringify(a[line] ?? '<end>')}, rendered ${JSON.stringify(b[line] ?? '<end>')}): run \`${regenerate}\` and commit it`;
};

/** Express 5 keeps its routes on `app.router.stack`; only route layers carry a path. */
type Layer = { route?: { path: string; methods: Record<string, boolean> } };

/** `method path` of every route registered on an express app, paths in OpenAPI form (`/x/:id` → `/x/{id}`). */
export const registeredRoutes = (app: Express): string[] =>
  (app as unknown as { router: { stack: Layer[] } }).router.stack.flatMap((l) => {
    const r = l.route;
    return r ? Object.keys(r.methods).map((m) => `${m} ${r.path.replace(/\/:(\w+)/g, '/{$1}').replace(/\\/g, '')}`) : [];
  });

/** `method path` of every operation an OpenAPI document lists. */
export const documentedRoutes = (doc: OpenApiPaths): string[] =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
