import { LRUCache } from 'lru-cache';
import type { Pool } from '@flywheel/postgres';
import type { Logger } from '@flywheel/runtime';
import { hashKey } from './apiKey.js';
import { ADMIN_CLIENT_NAME, ALL_SCOPES, type Client } from './client.js';
import { loadActiveClients } from './clients.js';

export interface KeyringOptions {
  pool: Pool;
  /** How often the active keys are reloaded: a created or revoked key takes effect within this (default 5 s). */
  refreshMs?: number;
  /** The bootstrap credential: authenticates as the built-in `admin` client (every scope, trusted). */
  adminToken?: string | undefined;
  /** Where a failed refresh is reported (the keyring then keeps the keys it has). */
  logger?: Logger;
  /** How many recently presented valid keys skip the hash (default 1,000; 0 turns the cache off). */
  cacheSize?: number;
}

/** The keys a process accepts, held in memory. */
export interface Keyring {
  /** The client a key belongs to, or undefined: a cache hit, else one hash and one map lookup; no database round trip. */
  authenticate(presentedKey: string): Client | undefined;
  /** Reloads the active keys now (the timer calls this every refreshMs). */
  refresh(): Promise<void>;
  /** A readiness check: false until the first load, and while refreshes have failed for over 3 refresh periods. */
  fresh(): boolean;
  /** Stops the refresh timer. */
  close(): void;
}

const ADMIN: Client = Object.freeze({ name: ADMIN_CLIENT_NAME, scopes: ALL_SCOPES, trust: 'trusted', keyId: 'ADMIN_TOKEN' });

/**
 * Loads the active keys of api_clients (run the auth migrations first) and reloads them every
 * refreshMs, so `flywheel keys create|revoke` reaches every process within seconds, without a
 * restart. A failed reload keeps the previous keys (a database blip must not lock every caller out)
 * and is logged; `fresh()` turns false if it lasts. Resolves after the first load, which must succeed.
 */
export const createKeyring = async (opts: KeyringOptions): Promise<Keyring> => {
  const refreshMs = opts.refreshMs ?? 5_000;
  const adminHash = opts.adminToken ? hashKey(opts.adminToken) : undefined;
  let byHash = new Map<string, Client>();
  let loadedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // Presented key → client, so a caller's repeat requests skip the SHA-256. Only keys found in byHash
  // go in (random unknown tokens can neither fill nor churn it), and it is emptied in the same turn
  // that byHash is replaced: a revoked or rotated key stops working at the next refresh, as without it.
  const cacheSize = opts.cacheSize ?? 1_000;
  if (!(Number.isInteger(cacheSize) && cacheSize >= 0)) throw new RangeError(`cacheSize must be a whole number >= 0, not ${cacheSize}`);
  const known = cacheSize > 0 ? new LRUCache<string, Client>({ max: cacheSize }) : undefined;

  // Reads can overlap (the timer's and a caller's): one that started earlier must not replace keys a later one applied.
  let started = 0;
  let applied = 0;
  const refresh = async (): Promise<void> => {
    const seq = ++started;
    const next = await loadActiveClients(opts.pool);
    if (seq < applied) return;
    applied = seq;
    // ADMIN_TOKEN is one more entry, so it costs the same lookup and no separate comparison.
    if (adminHash !== undefined) next.set(adminHash, ADMIN);
    byHash = next;
    known?.clear();
    loadedAt = Date.now();
  };
  const authenticate = (presentedKey: string): Client | undefined => {
    const hit = known?.get(presentedKey);
    if (hit !== undefined) return hit;
    const client = byHash.get(hashKey(presentedKey));
    if (client !== undefined) known?.set(presentedKey, client);
    return client;
  };
  const tick = (): void => {
    timer = setTimeout(() => {
      void refresh()
        .catch((err: unknown) => opts.logger?.warn({ err, keys: byHash.size }, 'api key refresh failed; keeping the keys loaded before'))
        .finally(() => { if (!closed) tick(); });
    }, refreshMs);
    timer.unref();
  };

  await refresh();
  tick();
  return {
    authenticate,
    refresh,
    fresh: () => loadedAt > 0 && Date.now() - loadedAt < 3 * refreshMs + 1_000,
    close: () => {
      closed = true;
      clearTimeout(timer);
    },
  };
};
