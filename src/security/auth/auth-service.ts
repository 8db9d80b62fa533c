import { createLocalJWKSet } from 'jose';
import type { AuthConfig } from '../../config';
import type { Principal } from '../../context';
import type { Storage } from '../../storage/port';
import { loadClients } from './clients';
import { TOKEN_PATH } from './discovery';
import { principalFromClaims } from './principal';
import { loadSigningKey, signingKeyPath } from './signing-key';
import type { TokenIssuer } from './token-endpoint';
import { loadTrustedIssuers } from './trusted-issuers';
import { unauthorized } from './unauthorized';
import { UsedJtiRegistry } from './used-jti';
import { VerifiedTokens } from './verified-tokens';
import { type TokenVerifier } from './verify-token';

/** Security switched off (`AUTH_MODE=off`): every request is the operator. */
export interface AuthOff {
  mode: 'off';
  /** The clock of the warning's once-a-minute reminder (tests pass a fake one). */
  now?: () => number;
}

/** Security on: what the HTTP layer needs to authenticate requests and run the token endpoint. */
export interface AuthOn {
  mode: 'on';
  /** The server's origin, the issuer of its own tokens. */
  origin: string;
  baseUrl: string;
  verifier: TokenVerifier;
  /** Tokens that verified, kept until they expire (verified-tokens.ts). */
  verifiedTokens: VerifiedTokens;
  tokenIssuer: TokenIssuer;
}

export type Auth = AuthOff | AuthOn;

export interface AuthSettings extends AuthConfig {
  baseUrl: string;
  sqlitePath: string;
  /** Least time between two fetches of a remote key set (default REMOTE_JWKS_COOLDOWN_MS). */
  jwksCooldownMs?: number;
}

/** Loads keys, issuers and clients once at start-up; a bad file is a ConfigError naming its variable. */
export async function createAuth(settings: AuthSettings): Promise<Auth> {
  if (settings.mode === 'off') return { mode: 'off' };
  const origin = new URL(settings.baseUrl).origin;
  const signingKey = await loadSigningKey(signingKeyPath(settings));
  const verifier: TokenVerifier = {
    ownIssuer: origin,
    ownKeys: createLocalJWKSet({ keys: [signingKey.publicJwk] }),
    trustedIssuers: loadTrustedIssuers(settings.trustedIssuersFile, { cooldownMs: settings.jwksCooldownMs }),
    audience: settings.baseUrl,
  };
  const tokenIssuer: TokenIssuer = {
    issuer: origin,
    audience: settings.baseUrl,
    tokenEndpoint: `${origin}${TOKEN_PATH}`,
    signingKey,
    clients: loadClients(settings.clientsFile),
    usedJti: new UsedJtiRegistry(),
  };
  return { mode: 'on', origin, baseUrl: settings.baseUrl, verifier, verifiedTokens: new VerifiedTokens(verifier), tokenIssuer };
}

/** The bearer token of an `Authorization` header, or a 401 saying what is wrong with the header. */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization === '') throw unauthorized('This request needs Authorization: Bearer <token>', false);
  const match = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i.exec(authorization);
  if (!match) throw unauthorized('The Authorization header must be Bearer <token>', true);
  return match[1];
}

/** Authenticates one request: the principal its token describes, or a 401. */
export async function authenticate(auth: AuthOn, authorization: string | undefined, storage: Storage): Promise<Principal> {
  const claims = await auth.verifiedTokens.verify(bearerToken(authorization));
  return principalFromClaims(claims, storage, auth.baseUrl);
}
