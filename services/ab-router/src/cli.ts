#!/usr/bin/env node
/**
 * Operator CLI over the admin API. Reads AB_ROUTER_URL (default http://127.0.0.1:8085) and ADMIN_TOKEN.
 *   flywheel-ab list [model]
 *   flywheel-ab rollback <model> <reason…>
 *   flywheel-ab stop|promote <experiment-id> <reason…>
 *   flywheel-ab evaluate <experiment-id>
 */
const [command, target, ...rest] = process.argv.slice(2);
const base = process.env.AB_ROUTER_URL ?? 'http://127.0.0.1:8085';
const token = process.env.ADMIN_TOKEN;
const usage = 'usage: flywheel-ab list [model] | rollback <model> <reason> | stop|promote <experiment-id> <reason> | evaluate <experiment-id>';

const call = async (method: string, path: string, body?: unknown): Promise<void> => {
  if (!token) throw new Error('set ADMIN_TOKEN to the ab-router admin token');
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  process.stdout.write(`${text}\n`);
  if (!res.ok) process.exitCode = 1;
};

const reason = rest.join(' ').trim();
const needs = (ok: boolean): void => {
  if (!ok) {
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
};
switch (command) {
  case 'list':
    await call('GET', `/admin/experiments${target ? `?model=${encodeURIComponent(target)}` : ''}`);
    break;
  case 'rollback':
    needs(Boolean(target && reason));
    await call('POST', `/admin/models/${encodeURIComponent(target ?? '')}/rollback`, { reason });
    break;
  case 'stop':
  case 'promote':
    needs(Boolean(target && reason));
    await call('POST', `/admin/experiments/${encodeURIComponent(target ?? '')}/${command}`, { reason });
    break;
  case 'evaluate':
    needs(Boolean(target));
    await call('POST', `/admin/experiments/${encodeURIComponent(target ?? '')}/evaluate`);
    break;
  case undefined:
  default:
    needs(false);
}
