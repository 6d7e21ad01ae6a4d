import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { runMigrations, type MigrationResult, type Pool } from '@flywheel/postgres';
import { Conflict, NotFound } from '@flywheel/runtime';
import { generateKey, hashKey, keyPrefixOf } from './apiKey.js';
import { ClientName, Scope, Trust, type Client } from './client.js';

/** packages/auth/migrations, from src/ (tests) or dist/ (built): `svc.migrate(authMigrationsDir, 'auth_migrations')`. */
export const authMigrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

/** Creates or updates the api_clients table; safe to call from every process at start. */
export const migrateAuth = (pool: Pool): Promise<MigrationResult> => runMigrations(pool, authMigrationsDir, { table: 'auth_migrations' });

/** A stored client as listings show it (never its key or hash). */
export const ClientRecord = z.object({
  name: z.string(),
  scopes: z.array(Scope),
  trust: Trust,
  keyPrefix: z.string(),
  createdBy: z.string(),
  createdAt: z.date(),
  revokedAt: z.date().nullable(),
  revokedBy: z.string().nullable(),
});
export type ClientRecord = z.infer<typeof ClientRecord>;

export const NewClient = z.object({
  name: ClientName,
  scopes: z.array(Scope).min(1, 'give at least one scope'),
  trust: Trust.default('standard'),
  /** Who created it (`cli:alice`), kept for audit. */
  createdBy: z.string().min(1).default('unknown'),
});
export type NewClient = z.input<typeof NewClient>;

const COLUMNS = `name, scopes, trust, key_prefix AS "keyPrefix", created_by AS "createdBy", created_at AS "createdAt", revoked_at AS "revokedAt", revoked_by AS "revokedBy"`;
const UNIQUE_VIOLATION = '23505';

/** Issues a key to a new client. The key is returned once here and never again: show it to the operator. */
export const createClient = async (pool: Pool, input: NewClient): Promise<{ client: ClientRecord; key: string }> => {
  const c = NewClient.parse(input);
  const key = generateKey();
  try {
    const { rows } = await pool.query(
      `INSERT INTO api_clients (name, scopes, trust, key_prefix, key_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [c.name, c.scopes, c.trust, keyPrefixOf(key), hashKey(key), c.createdBy],
    );
    return { client: ClientRecord.parse(rows[0]), key };
  } catch (err) {
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
      throw new Conflict(`client "${c.name}" already has an active key; revoke it first (flywheel keys revoke ${c.name}) to issue a new one`, { reason: 'client_exists' });
    }
    throw err;
  }
};

/** Every client, active ones and revoked ones (for audit), by name then creation time. */
export const listClients = async (pool: Pool): Promise<ClientRecord[]> => {
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM api_clients ORDER BY name, id`);
  return z.array(ClientRecord).parse(rows);
};

/** Revokes a client's active key; every keyring refuses it after its next refresh. NotFound when the name has no active key. */
export const revokeClient = async (pool: Pool, name: string, revokedBy = 'unknown'): Promise<ClientRecord> => {
  const { rows } = await pool.query(
    `UPDATE api_clients SET revoked_at = now(), revoked_by = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
    [name, revokedBy],
  );
  if (rows.length === 0) throw new NotFound(`client "${name}" has no active key; see flywheel keys list`, { reason: 'client_not_found' });
  return ClientRecord.parse(rows[0]);
};

const ActiveRow = z.object({ name: z.string(), scopes: z.array(Scope), trust: Trust, keyPrefix: z.string(), keyHash: z.string() });

/** Active clients by key hash: what a keyring holds. */
export const loadActiveClients = async (pool: Pool): Promise<Map<string, Client>> => {
  const { rows } = await pool.query(`SELECT name, scopes, trust, key_prefix AS "keyPrefix", key_hash AS "keyHash" FROM api_clients WHERE revoked_at IS NULL`);
  const byHash = new Map<string, Client>();
  for (const r of z.array(ActiveRow).parse(rows)) {
    byHash.set(r.keyHash, Object.freeze({ name: r.name, scopes: Object.freeze(r.scopes), trust: r.trust, keyId: r.keyPrefix }));
  }
  return byHash;
};
