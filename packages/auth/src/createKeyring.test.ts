// The keyring's cache of presented keys, on a stand-in for api_clients: a revoked key is refused at
// the next refresh even while cached, and an unknown token is never cached.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Pool } from '@flywheel/postgres';
import { generateKey, hashKey, keyPrefixOf } from './apiKey.js';
import { createKeyring, type Keyring } from './createKeyring.js';

// Counts hashes, so a test can tell a cache hit (no hash) from a lookup by hash.
vi.mock('./apiKey.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./apiKey.js')>();
  return { ...actual, hashKey: vi.fn(actual.hashKey) };
});
const hashes = vi.mocked(hashKey);

interface Row { name: string; scopes: string[]; trust: string; keyPrefix: string; keyHash: string }
/** A pool whose api_clients holds `rows` (what loadActiveClients selects: the active ones). */
const tableOf = (rows: Row[]) => ({ query: async () => ({ rows }) }) as unknown as Pool;
const rowFor = (name: string, key: string): Row => ({ name, scopes: ['predict'], trust: 'standard', keyPrefix: keyPrefixOf(key), keyHash: hashKey(key) });

let keyring: Keyring | undefined;
afterEach(() => keyring?.close());

describe('keyring cache', () => {
  it('answers a repeated key without hashing it, and refuses it after the refresh that sees it revoked', async () => {
    const key = generateKey();
    const active = [rowFor('web', key)];
    keyring = await createKeyring({ pool: tableOf(active), refreshMs: 60_000 });
    expect(keyring.authenticate(key)?.name).toBe('web');
    hashes.mockClear();
    expect(keyring.authenticate(key)?.name).toBe('web');
    expect(hashes).not.toHaveBeenCalled(); // served from the cache

    active.length = 0; // revoked: no longer among the active keys
    expect(keyring.authenticate(key)?.name).toBe('web'); // as before the cache: valid until the next refresh
    await keyring.refresh();
    expect(keyring.authenticate(key)).toBeUndefined();
  });

  it('follows a rotation: the old key is refused and the new one accepted after the refresh', async () => {
    const [oldKey, newKey] = [generateKey(), generateKey()];
    const active = [rowFor('batch', oldKey)];
    keyring = await createKeyring({ pool: tableOf(active), refreshMs: 60_000 });
    expect(keyring.authenticate(oldKey)?.keyId).toBe(keyPrefixOf(oldKey));
    expect(keyring.authenticate(newKey)).toBeUndefined();
    active.splice(0, 1, rowFor('batch', newKey));
    await keyring.refresh();
    expect(keyring.authenticate(oldKey)).toBeUndefined();
    expect(keyring.authenticate(newKey)?.keyId).toBe(keyPrefixOf(newKey));
  });

  it('never caches an unknown token: every attempt is hashed and refused', async () => {
    keyring = await createKeyring({ pool: tableOf([rowFor('web', generateKey())]), refreshMs: 60_000 });
    const unknown = generateKey();
    hashes.mockClear();
    for (let i = 0; i < 3; i++) expect(keyring.authenticate(unknown)).toBeUndefined();
    expect(hashes).toHaveBeenCalledTimes(3);
  });

  it('holds at most cacheSize keys, and with cacheSize 0 hashes every time', async () => {
    const keys = [generateKey(), generateKey(), generateKey()];
    keyring = await createKeyring({ pool: tableOf(keys.map((k, i) => rowFor(`c${i}`, k))), refreshMs: 60_000, cacheSize: 2 });
    for (const k of keys) keyring.authenticate(k);
    hashes.mockClear();
    expect(keyring.authenticate(keys[0]!)?.name).toBe('c0'); // the least recently used, evicted
    expect(hashes).toHaveBeenCalledTimes(1);
    keyring.close();

    keyring = await createKeyring({ pool: tableOf([rowFor('web', keys[0]!)]), refreshMs: 60_000, cacheSize: 0 });
    hashes.mockClear();
    keyring.authenticate(keys[0]!);
    keyring.authenticate(keys[0]!);
    expect(hashes).toHaveBeenCalledTimes(2);
    await expect(createKeyring({ pool: tableOf([]), cacheSize: -1 })).rejects.toThrow(RangeError);
  });
});
