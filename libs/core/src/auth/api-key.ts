import { createHash, randomBytes } from 'node:crypto';

/** Shown to users so a leaked key is recognisable (secret scanners match on it). */
export const KEY_PREFIX = 'nf_';
const DISPLAY_CHARS = 10;

/** A new key: `nf_` + 256 random bits in base64url. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * SHA-256 of the key. Keys carry 256 bits of entropy, so a fast hash is as safe
 * as a slow one here (nothing to brute-force) and costs microseconds per check.
 */
export function hashApiKey(plain: string): string {
  return createHash('sha256').update(plain, 'utf8').digest('hex');
}

/** The first characters, stored in clear to tell keys apart in listings. */
export function displayPrefix(plain: string): string {
  return plain.slice(0, DISPLAY_CHARS);
}

/** The key from an `Authorization: Bearer <key>` header, or null. */
export function bearerToken(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return m ? m[1] : null;
}
