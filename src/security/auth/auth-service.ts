import { createLocalJWKSet, type JWTPayload } from 'jose';
import type { AuthConfig, AuthorizationServerConfig } from '../../config';
import type { Principal } from '../../context';
import type { AccountStore } from '../../storage/accounts/port';
import { openSqliteAccountStore } from '../../storage/accounts/sqlite';
import type { Storage } from '../../storage/port';
import { AuthorizationCodes } from './authorization-codes';
import { withBuiltInClients } from './built-in-clients';
import { clientsFileWarning, loadClients } from './clients';
import { LoginThrottle } from './login-throttle';
import { Revocations } from './revocations';
import { Sessions } from './sessions';
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
  /** The authorization code flow's browser state (sign-in sessions, throttling) and settings. */
  sessions: Sessions;
  throttle: LoginThrottle;
  server: AuthorizationServerConfig;
  /** Said once at start (the HTTP layer logs them). */
  warnings: string[];
}

export type Auth = AuthOff | AuthOn;

export interface AuthSettings extends AuthConfig {
  baseUrl: string;
  sqlitePath: string;
  /** Least time between two fetches of a remote key set (default REMOTE_JWKS_COOLDOWN_MS). */
  jwksCooldownMs?: number;
  /** The users and refresh tokens (src/storage/accounts); without it, an empty in-memory store (no one can sign in). */
  accounts?: AccountStore;
}

export const DEFAULT_AUTHORIZATION_SERVER: AuthorizationServerConfig = {
  accessTokenSeconds: 3600,
  loginMaxFailures: 5,
  loginLockSeconds: 900,
  trustProxy: false,
  corsOrigins: [],
};

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
  const server = settings.authorizationServer ?? DEFAULT_AUTHORIZATION_SERVER;
  const accounts = settings.accounts ?? openSqliteAccountStore(':memory:');
  const revocations = new Revocations(accounts);
  const tokenIssuer: TokenIssuer = {
    issuer: origin,
    audience: settings.baseUrl,
    tokenEndpoint: `${origin}${TOKEN_PATH}`,
    signingKey,
    clients: withBuiltInClients(loadClients(settings.clientsFile), origin),
    usedJti: new UsedJtiRegistry(accounts),
    accounts,
    codes: new AuthorizationCodes(accounts),
    revocations,
    accessTokenSeconds: server.accessTokenSeconds,
  };
  const warning = clientsFileWarning(settings.clientsFile);
  return {
    mode: 'on',
    origin,
    baseUrl: settings.baseUrl,
    verifier,
    verifiedTokens: new VerifiedTokens(verifier),
    tokenIssuer,
    sessions: new Sessions(),
    throttle: new LoginThrottle(accounts, server.loginMaxFailures, server.loginLockSeconds),
    server,
    warnings: warning ? [warning] : [],
  };
}

/** The bearer token of an `Authorization` header, or a 401 saying what is wrong with the header. */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization === '') throw unauthorized('This request needs Authorization: Bearer <token>', false);
  const match = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i.exec(authorization);
  if (!match?.[1]) throw unauthorized('The Authorization header must be Bearer <token>', true);
  return match[1];
}

/** Authenticates one request: the principal its token describes, or a 401. */
export async function authenticate(auth: AuthOn, authorization: string | undefined, storage: Storage): Promise<Principal> {
  return (await authenticateToken(auth, authorization, storage)).principal;
}

/** authenticate, with the token's verified claims beside the principal (a WebSocket connection keeps its expiry and jti). */
export async function authenticateToken(auth: AuthOn, authorization: string | undefined, storage: Storage): Promise<{ principal: Principal; claims: JWTPayload }> {
  const claims = await auth.verifiedTokens.verify(bearerToken(authorization));
  // After the cache: a token revoked since it was first verified, by this process or another, is refused at once (RFC 7009).
  if (await auth.tokenIssuer.revocations.isRevoked(claims.jti)) throw unauthorized('The access token has been revoked', true);
  return { principal: await principalFromClaims(claims, storage, auth.baseUrl), claims };
}
