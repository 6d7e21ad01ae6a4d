import { ClientName, createClient, listClients, parseScopes, revokeClient, Trust, type ClientRecord } from '@flywheel/auth';
import type { Pool } from '@flywheel/postgres';
import { Invalid } from '@flywheel/runtime';
import { need, type CliOptions } from './cliArgs.js';
import { UsageError } from './cliErrors.js';
import { formatTable } from './formatTable.js';

export interface KeysDeps {
  /** A pool on which the auth migrations have run. */
  pool: Pool;
  print: (line: string) => void;
  actor: string;
}

const status = (c: ClientRecord): string => (c.revokedAt ? `revoked ${c.revokedAt.toISOString()}` : 'active');

/** A flag's value parsed by the auth package; its Invalid becomes a usage error (exit 2). */
const usage = <T>(parse: () => T): T => {
  try {
    return parse();
  } catch (err) {
    if (err instanceof Invalid) throw new UsageError(err.message);
    throw err;
  }
};

/**
 * `flywheel keys create NAME --scopes S[,S] [--trust trusted|standard]`, `keys list`, `keys revoke NAME`.
 * create prints the key once, as its last line (so `| tail -1` captures it); only its hash is stored.
 */
export const keysCommand = async (d: KeysDeps, args: readonly string[], o: Pick<CliOptions, 'scopes' | 'trust'>): Promise<void> => {
  const [sub, name, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (sub === undefined) throw new UsageError('missing keys subcommand: create, list or revoke');
  switch (sub) {
    case 'create': {
      const n = ClientName.safeParse(need(name, 'NAME'));
      if (!n.success) throw new UsageError(`"${name}" is not a valid client name: ${n.error.issues[0]?.message ?? 'bad name'}`);
      const scopes = usage(() => parseScopes(need(o.scopes, '--scopes predict,feedback,admin')));
      const trust = Trust.safeParse(o.trust ?? 'standard');
      if (!trust.success) throw new UsageError(`--trust must be trusted or standard, not "${o.trust}"`);
      const { client, key } = await createClient(d.pool, { name: n.data, scopes, trust: trust.data, createdBy: d.actor });
      d.print(`client ${client.name}: scopes ${client.scopes.join(',')}, trust ${client.trust}, key id ${client.keyPrefix}`);
      d.print('this key is shown only now; store it (services accept it within seconds as Authorization: Bearer <key> or X-Api-Key: <key>):');
      d.print(key);
      return;
    }
    case 'list': {
      if (name !== undefined) throw new UsageError(`unexpected argument "${name}"`);
      const rows = await listClients(d.pool);
      d.print(formatTable(['name', 'scopes', 'trust', 'key id', 'status', 'created', 'by'], rows.map((c) => [
        c.name, c.scopes.join(','), c.trust, c.keyPrefix, status(c), c.createdAt.toISOString(), c.createdBy,
      ])));
      return;
    }
    case 'revoke': {
      const revoked = await revokeClient(d.pool, need(name, 'NAME'), d.actor);
      d.print(`revoked ${revoked.name} (key id ${revoked.keyPrefix}); services refuse it within seconds`);
      return;
    }
    default:
      throw new UsageError(`unknown keys subcommand "${sub}": create, list or revoke`);
  }
};
