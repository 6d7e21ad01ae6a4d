import { z } from 'zod';
import { Invalid } from '@flywheel/runtime';

/** What a key may do: call predict routes, send feedback, or use admin routes. No scope implies another. */
export const Scope = z.enum(['predict', 'feedback', 'admin']);
export type Scope = z.infer<typeof Scope>;
export const ALL_SCOPES: readonly Scope[] = Scope.options;

/** `trusted` clients are reviewers whose labels and outcomes count fully; `standard` ones are end users. */
export const Trust = z.enum(['trusted', 'standard']);
export type Trust = z.infer<typeof Trust>;

/** The built-in client that ADMIN_TOKEN authenticates as; no stored client may take this name. */
export const ADMIN_CLIENT_NAME = 'admin';

/** A client's name: what predictions and feedback record as their sender. */
export const ClientName = z
  .string()
  .regex(/^[a-z][a-z0-9._-]{0,62}$/, 'a client name is 1-63 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"')
  .refine((n) => n !== ADMIN_CLIENT_NAME, `"${ADMIN_CLIENT_NAME}" is the built-in ADMIN_TOKEN client; choose another name`);

/** An authenticated caller, as the keyring hands it to a route. */
export interface Client {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly trust: Trust;
  /** The key's visible prefix (`fwk_AbCd1234`), or `ADMIN_TOKEN`: for logs, never enough to authenticate. */
  readonly keyId: string;
}

/** Whether a client holds `scope`. */
export const hasScope = (client: Client, scope: Scope): boolean => client.scopes.includes(scope);

/** `predict,feedback` → ['predict', 'feedback'] (deduplicated); an empty list or an unknown scope is Invalid, naming the known ones. */
export const parseScopes = (list: string): Scope[] => {
  const parts = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new Invalid(`give at least one scope: ${ALL_SCOPES.join(', ')}`, { reason: 'invalid_scopes' });
  const unknown = parts.filter((p) => !Scope.safeParse(p).success);
  if (unknown.length > 0) throw new Invalid(`unknown scope ${unknown.map((u) => `"${u}"`).join(', ')}; scopes are ${ALL_SCOPES.join(', ')}`, { reason: 'invalid_scopes' });
  return ALL_SCOPES.filter((s) => parts.includes(s));
};
