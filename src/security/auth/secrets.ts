import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh unguessable value (256 bits), URL-safe: codes, refresh tokens, session ids, CSRF tokens. */
export const randomToken = (): string => randomBytes(32).toString('base64url');

/** Codes and refresh tokens are stored only as this hash, so a copy of the store cannot be replayed. */
export const tokenHash = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url');

/** Constant-time equality of two strings. */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** PKCE S256 (RFC 7636 section 4.6): BASE64URL(SHA256(verifier)). */
export const s256 = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url');
