import { z } from 'zod';
import { ConfigError, DependencyDown } from '@flywheel/runtime';
import { ServiceRefused } from './cliErrors.js';

/** How a caller reaches one service over HTTP. */
export interface ServiceEndpoint {
  service: string;
  baseUrl: string;
  /** sent as X-Api-Key on public routes (feedback, predict) when set */
  apiKey?: string | undefined;
  /** sent as `Authorization: Bearer` on admin routes */
  adminToken?: string | undefined;
}

export interface CallOptions {
  body?: unknown;
  admin?: boolean;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One JSON call; returns the parsed body of a 2xx answer. */
export type ServiceCall = (method: string, path: string, opts?: CallOptions) => Promise<unknown>;

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }).passthrough() });

/**
 * A small JSON client for one service. A 4xx answer becomes ServiceRefused carrying the service's
 * error message (not worth retrying as is); a 5xx or a connection failure becomes DependencyDown.
 */
export const createServiceCall = (ep: ServiceEndpoint, fetchImpl: typeof fetch = fetch): ServiceCall => async (method, path, opts = {}) => {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.admin) {
    if (!ep.adminToken) throw new ConfigError(`${ep.service} admin routes need ADMIN_TOKEN; set it (the services' ADMIN_TOKEN)`);
    headers.authorization = `Bearer ${ep.adminToken}`;
  } else if (ep.apiKey) {
    headers['x-api-key'] = ep.apiKey;
  } else if (ep.adminToken) {
    // No client key given: the operator's ADMIN_TOKEN is the built-in admin client, which holds every scope.
    headers.authorization = `Bearer ${ep.adminToken}`;
  }
  const url = `${ep.baseUrl.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetchImpl(url, { method, headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000), ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) });
  } catch (err) {
    throw new DependencyDown(`${ep.service} at ${ep.baseUrl} did not answer ${method} ${path} (${err instanceof Error ? err.message : String(err)}); is it running? retry later`, { cause: err });
  }
  const text = await res.text();
  let body: unknown = undefined;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (res.ok) return body;
  const parsed = ErrorBody.safeParse(body);
  const detail = parsed.success ? parsed.data.error.message : text.slice(0, 300) || res.statusText;
  if (res.status >= 500) throw new DependencyDown(`${ep.service} answered ${res.status} to ${method} ${path}: ${detail}; retry later`);
  throw new ServiceRefused(ep.service, res.status, parsed.success ? parsed.data.error.code : undefined, `${ep.service} refused ${method} ${path} (${res.status}): ${detail}`);
};
