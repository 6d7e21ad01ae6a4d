import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const KEY_PREFIX = 'fwk_';
/** Characters of a key kept in clear (`fwk_` and 8 random ones): enough to tell keys apart in a listing. */
const VISIBLE = KEY_PREFIX.length + 8;
/** Longer presented values are refused before hashing: no key or token is this long. */
const MAX_PRESENTED = 512;

/** A new key: `fwk_` and 32 random bytes in base64url (256 bits). Shown once; only its hash is stored. */
export const generateKey = (): string => `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;

/**
 * The stored form of a key: SHA-256, hex. A fast unsalted hash is right here, unlike for passwords:
 * keys are 256 random bits, so no dictionary or brute force can invert the hash, and a salt would
 * only stop the O(1) lookup by hash that lets every request authenticate without a slow KDF.
 */
export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** The part of a key shown in listings and logs. */
export const keyPrefixOf = (key: string): string => key.slice(0, VISIBLE);

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The key a request presents: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`. Undefined
 * when neither is there (or the value is empty or absurdly long).
 */
export const presentedKey = (headers: IncomingHttpHeaders): string | undefined => {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header(headers, 'authorization') ?? '')?.[1];
  const key = bearer ?? header(headers, 'x-api-key')?.trim();
  return key === undefined || key === '' || key.length > MAX_PRESENTED ? undefined : key;
};
