// Keys on the real PostgreSQL: issue, authenticate from memory, revoke, and see every keyring refuse
// the key within its refresh period. Own schema, dropped at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, NotFound } from '@flywheel/runtime';
import { isolatedPlatform, until, type IsolatedPlatform } from '@flywheel/testing';
import { hashKey } from './apiKey.js';
import { createClient, listClients, migrateAuth, revokeClient } from './clients.js';
import { createKeyring, type Keyring } from './createKeyring.js';

let p: IsolatedPlatform;
let keyring: Keyring;
const REFRESH_MS = 200;

beforeAll(async () => {
  p = await isolatedPlatform('auth-keyring');
  await migrateAuth(p.pool);
  expect((await migrateAuth(p.pool)).applied).toEqual([]); // a second process starting finds nothing to do
  keyring = await createKeyring({ pool: p.pool, refreshMs: REFRESH_MS, adminToken: 'bootstrap-token-for-tests', logger: p.logger });
});

afterAll(async () => {
  keyring?.close();
  await p?.drop();
});

describe('keyring', () => {
  it('picks up a new key, then refuses it within the refresh period once revoked', async () => {
    const { client, key } = await createClient(p.pool, { name: 'web-shop', scopes: ['predict', 'feedback'], createdBy: 'test' });
    expect(client).toMatchObject({ name: 'web-shop', scopes: ['predict', 'feedback'], trust: 'standard', keyPrefix: key.slice(0, 12), revokedAt: null });
    await until('the keyring to know the new key', () => keyring.authenticate(key) !== undefined, 10_000);
    expect(keyring.authenticate(key)).toEqual({ name: 'web-shop', scopes: ['predict', 'feedback'], trust: 'standard', keyId: key.slice(0, 12) });

    await revokeClient(p.pool, 'web-shop', 'test');
    await until(`the keyring to refuse the revoked key (refreshMs ${REFRESH_MS})`, () => keyring.authenticate(key) === undefined, 10_000);
    expect(keyring.fresh()).toBe(true);
  });

  it('stores only the hash and the visible prefix, never the key', async () => {
    const { key } = await createClient(p.pool, { name: 'reviewer', scopes: ['feedback'], trust: 'trusted' });
    const { rows } = await p.pool.query<{ row: string }>(`SELECT row_to_json(c)::text AS row FROM api_clients c WHERE name = 'reviewer'`);
    expect(rows[0]!.row).not.toContain(key);
    expect(rows[0]!.row).toContain(hashKey(key));
  });

  it('authenticates ADMIN_TOKEN as the built-in admin client with every scope', () => {
    expect(keyring.authenticate('bootstrap-token-for-tests')).toEqual({ name: 'admin', scopes: ['predict', 'feedback', 'admin'], trust: 'trusted', keyId: 'ADMIN_TOKEN' });
    expect(keyring.authenticate('bootstrap-token-for-test')).toBeUndefined();
  });

  it('allows one active key per name: a second is a Conflict, rotation after revoke works, and listings keep the history', async () => {
    const first = await createClient(p.pool, { name: 'batch-job', scopes: ['predict'] });
    await keyring.refresh();
    expect(keyring.authenticate(first.key)?.name).toBe('batch-job');
    expect(keyring.authenticate(first.key)?.name).toBe('batch-job'); // now answered from the keyring's cache
    await expect(createClient(p.pool, { name: 'batch-job', scopes: ['predict'] })).rejects.toBeInstanceOf(Conflict);
    await revokeClient(p.pool, 'batch-job');
    await expect(revokeClient(p.pool, 'batch-job')).rejects.toBeInstanceOf(NotFound);
    const second = await createClient(p.pool, { name: 'batch-job', scopes: ['predict'] });
    await keyring.refresh();
    expect(keyring.authenticate(first.key)).toBeUndefined();
    expect(keyring.authenticate(second.key)?.name).toBe('batch-job');
    const rows = (await listClients(p.pool)).filter((c) => c.name === 'batch-job');
    expect(rows.map((r) => [r.keyPrefix, r.revokedAt === null])).toEqual([[first.key.slice(0, 12), false], [second.key.slice(0, 12), true]]);
  });

  it('refuses the admin name and unknown scopes before touching the table', async () => {
    await expect(createClient(p.pool, { name: 'admin', scopes: ['admin'] })).rejects.toThrow(/built-in ADMIN_TOKEN client/);
    await expect(createClient(p.pool, { name: 'x', scopes: [] })).rejects.toThrow(/at least one scope/);
  });
});
