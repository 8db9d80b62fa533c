import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AccountStore } from '../../storage/accounts/port';
import type { AuthorizationCodes } from './authorization-codes';
import { authenticateClient, single, type ClientDirectory, type Form } from './client-auth';
import { BACKEND_ACCESS_TOKEN_SECONDS } from './lifetimes';
import { OAuthError } from './oauth-error';
import type { Revocations } from './revocations';
import { grantedScopes } from './scope-grant';
import type { SigningKey } from './signing-key';
import { authorizationCodeGrant, refreshTokenGrant } from './user-grants';

export { JWT_BEARER_ASSERTION, MAX_ASSERTION_LIFETIME_SECONDS } from './client-auth';
export const ACCESS_TOKEN_LIFETIME_SECONDS = BACKEND_ACCESS_TOKEN_SECONDS;

export interface TokenIssuer extends ClientDirectory {
  /** The server's origin: `iss` of every token it signs. */
  issuer: string;
  /** `BASE_URL`: `aud` of the access tokens. */
  audience: string;
  signingKey: SigningKey;
  accounts: AccountStore;
  codes: AuthorizationCodes;
  revocations: Revocations;
  /** `AUTH_ACCESS_TOKEN_SECONDS`: access tokens of the authorization code and refresh grants. */
  accessTokenSeconds: number;
}

export interface AccessTokenClaims {
  sub: string;
  scope: string;
  fhirUser?: string;
  patient?: string;
  purpose_of_use?: string;
  client_id?: string;
}

/** Signs an access token with the server's key (the token endpoint and `npm run token` both use it). */
export async function signAccessToken(
  key: SigningKey,
  issuer: string,
  audience: string,
  claims: AccessTokenClaims,
  lifetimeSeconds: number,
  jti: string = randomUUID(),
): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${lifetimeSeconds}s`)
    .setJti(jti)
    .sign(key.privateKey);
}

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
  patient?: string;
  refresh_token?: string;
  id_token?: string;
}

/**
 * SMART Backend Services (http://hl7.org/fhir/smart-app-launch/backend-services.html):
 * client_credentials with a private_key_jwt assertion.
 */
async function clientCredentialsGrant(issuer: TokenIssuer, form: Form, authorization: string | undefined, nowMs: number): Promise<TokenResponse> {
  if (single(form, 'client_assertion') === undefined && single(form, 'client_assertion_type') === undefined) {
    throw new OAuthError(401, 'invalid_client', 'client_credentials needs a private_key_jwt client assertion');
  }
  const client = await authenticateClient(issuer, form, authorization, nowMs);
  const requested = (single(form, 'scope') ?? '').split(/\s+/).filter(Boolean);
  const granted = grantedScopes(requested, client.allowedScopes, issuer.audience);
  if (granted.length === 0) throw new OAuthError(400, 'invalid_scope', 'None of the requested scopes is allowed for this client');
  const scope = granted.join(' ');
  const claims: AccessTokenClaims = { sub: client.clientId, client_id: client.clientId, scope, ...(client.fhirUser ? { fhirUser: client.fhirUser } : {}) };
  const accessToken = await signAccessToken(issuer.signingKey, issuer.issuer, issuer.audience, claims, ACCESS_TOKEN_LIFETIME_SECONDS);
  return { access_token: accessToken, token_type: 'bearer', expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, scope };
}

/** `POST /auth/token`: the grant the form names. Errors are OAuthErrors for the HTTP layer to render (RFC 6749 section 5.2). */
export async function issueToken(issuer: TokenIssuer, form: Form, authorization?: string, nowMs = Date.now()): Promise<TokenResponse> {
  const grantType = single(form, 'grant_type');
  if (grantType === undefined) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
  if (grantType === 'client_credentials') return clientCredentialsGrant(issuer, form, authorization, nowMs);
  if (grantType === 'authorization_code') return authorizationCodeGrant(issuer, form, authorization, nowMs);
  if (grantType === 'refresh_token') return refreshTokenGrant(issuer, form, authorization, nowMs);
  throw new OAuthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code, refresh_token or client_credentials');
}
