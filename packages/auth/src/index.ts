export { Scope, Trust, ClientName, ALL_SCOPES, ADMIN_CLIENT_NAME, hasScope, parseScopes } from './client.js';
export type { Client } from './client.js';
export { generateKey, hashKey, keyPrefixOf, presentedKey } from './apiKey.js';
export { authMigrationsDir, migrateAuth, createClient, listClients, revokeClient, ClientRecord, NewClient } from './clients.js';
export { createKeyring } from './createKeyring.js';
export type { Keyring, KeyringOptions } from './createKeyring.js';
export { authorize, authErrorHeaders, requireScope, clientOf } from './authorize.js';
export { createRateLimits, rateLimit } from './rateLimits.js';
export type { Limit, RateLimits, RateLimitsOptions } from './rateLimits.js';
