import type { JWTPayload } from 'jose';
import { authenticateClient, invalidClient, single, type Form } from './client-auth';
import { OAuthError } from './oauth-error';
import { tokenHash } from './secrets';
import type { TokenIssuer } from './token-endpoint';
import { verifyAccessToken, type TokenVerifier } from './verify-token';

/** The claims of one of this server's access tokens still in force, or undefined. */
async function liveAccessToken(issuer: TokenIssuer, verifier: TokenVerifier, token: string): Promise<JWTPayload | undefined> {
  try {
    const claims = await verifyAccessToken({ ...verifier, trustedIssuers: new Map() }, token);
    return (await issuer.revocations.isRevoked(claims.jti)) ? undefined : claims;
  } catch {
    return undefined;
  }
}

/**
 * `POST /auth/introspect` (RFC 7662) for resource servers and confidential
 * clients (public clients may not ask). An access token or refresh token of
 * this server in force is `active` with its scope, client, expiry, subject,
 * `fhirUser` and `patient`; anything else, revoked or expired, is just
 * `{"active": false}`.
 */
export async function introspect(issuer: TokenIssuer, verifier: TokenVerifier, form: Form, authorization: string | undefined): Promise<Record<string, unknown>> {
  const client = await authenticateClient(issuer, form, authorization);
  if (client.type === 'public') throw invalidClient('Introspection is for resource servers and confidential clients');
  const token = single(form, 'token');
  if (!token) throw new OAuthError(400, 'invalid_request', 'token is required');
  const claims = await liveAccessToken(issuer, verifier, token);
  if (claims) {
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.client_id,
      exp: claims.exp,
      sub: claims.sub,
      token_type: 'access_token',
      ...(claims.fhirUser !== undefined ? { fhirUser: claims.fhirUser } : {}),
      ...(claims.patient !== undefined ? { patient: claims.patient } : {}),
    };
  }
  const refresh = await issuer.accounts.findRefreshToken(tokenHash(token));
  const user = refresh ? await issuer.accounts.getUser(refresh.username) : undefined;
  if (!refresh || refresh.revoked || refresh.usedAt !== undefined || refresh.expiresAt < Date.now() || !user || user.disabled) return { active: false };
  return {
    active: true,
    scope: refresh.scope,
    client_id: refresh.clientId,
    exp: Math.floor(refresh.expiresAt / 1000),
    sub: refresh.username,
    token_type: 'refresh_token',
    fhirUser: refresh.fhirUser,
    ...(refresh.patient !== undefined ? { patient: refresh.patient } : {}),
  };
}

/**
 * `POST /auth/revoke` (RFC 7009): a client revokes its own tokens. A refresh
 * token takes its whole family with it, the access tokens issued from it
 * included; an access token is revoked by its `jti`. Unknown tokens, and
 * other clients' tokens, are answered 200 as well (section 2.2), changing nothing.
 */
export async function revoke(issuer: TokenIssuer, verifier: TokenVerifier, form: Form, authorization: string | undefined): Promise<void> {
  const client = await authenticateClient(issuer, form, authorization);
  const token = single(form, 'token');
  if (!token) throw new OAuthError(400, 'invalid_request', 'token is required');
  const refresh = await issuer.accounts.findRefreshToken(tokenHash(token));
  if (refresh) {
    if (refresh.clientId === client.clientId) await issuer.revocations.revokeFamily(refresh.familyId);
    return;
  }
  const claims = await liveAccessToken(issuer, verifier, token);
  if (claims && claims.client_id === client.clientId && typeof claims.jti === 'string') await issuer.revocations.revoke(claims.jti, Number(claims.exp) * 1000);
}
