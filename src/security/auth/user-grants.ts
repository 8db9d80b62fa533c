import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { RefreshTokenRecord } from '../../storage/accounts/port';
import { authenticateClient, single, type Form } from './client-auth';
import type { RegisteredClient } from './clients';
import { OFFLINE_REFRESH_SECONDS, SESSION_SECONDS } from './lifetimes';
import { OAuthError } from './oauth-error';
import { randomToken, s256, sameText, tokenHash } from './secrets';
import { signAccessToken, type AccessTokenClaims, type TokenIssuer, type TokenResponse } from './token-endpoint';

const invalidGrant = (description: string) => new OAuthError(400, 'invalid_grant', description);

/** What a token response is made from: the first one (from a code) and every refresh carry the same fields. */
interface Issue {
  client: RegisteredClient;
  familyId: string;
  username: string;
  fhirUser: string;
  scope: string;
  patient?: string;
  nonce?: string;
  authTime: number;
  /** When an online refresh token stops (12 hours from sign-in); offline ones slide. */
  onlineUntil: number;
}

const scopesOf = (scope: string) => scope.split(/\s+/).filter(Boolean);

/**
 * The OIDC ID token (OpenID Connect Core 1.0 section 2; SMART `openid
 * fhirUser`): `iss`, `sub` (the username), `aud` = the client, `fhirUser`
 * as an absolute URL, the `nonce` the client sent.
 */
function idToken(issuer: TokenIssuer, issue: Issue, nowSeconds: number): Promise<string> {
  return new SignJWT({
    fhirUser: `${issuer.audience}/${issue.fhirUser}`,
    auth_time: Math.floor(issue.authTime / 1000),
    ...(issue.nonce ? { nonce: issue.nonce } : {}),
  })
    .setProtectedHeader({ alg: issuer.signingKey.alg, kid: issuer.signingKey.kid, typ: 'JWT' })
    .setIssuer(issuer.issuer)
    .setSubject(issue.username)
    .setAudience(issue.client.clientId)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + issuer.accessTokenSeconds)
    .sign(issuer.signingKey.privateKey);
}

/** Access token, and a refresh token with `offline_access` or `online_access`, and an ID token with `openid`. */
async function respond(issuer: TokenIssuer, issue: Issue, nowMs: number): Promise<TokenResponse> {
  const scopes = scopesOf(issue.scope);
  const jti = randomUUID();
  const claims: AccessTokenClaims = {
    sub: issue.username,
    client_id: issue.client.clientId,
    scope: issue.scope,
    fhirUser: issue.fhirUser,
    ...(issue.patient !== undefined ? { patient: issue.patient } : {}),
  };
  const accessToken = await signAccessToken(issuer.signingKey, issuer.issuer, issuer.audience, claims, issuer.accessTokenSeconds, jti);
  await issuer.accounts.recordIssuedToken(issue.familyId, jti, nowMs + issuer.accessTokenSeconds * 1000);
  const response: TokenResponse = { access_token: accessToken, token_type: 'bearer', expires_in: issuer.accessTokenSeconds, scope: issue.scope };
  if (issue.patient !== undefined) response.patient = issue.patient;
  const offline = scopes.includes('offline_access');
  if (offline || scopes.includes('online_access')) {
    const refreshToken = randomToken();
    const record: RefreshTokenRecord = {
      hash: tokenHash(refreshToken),
      familyId: issue.familyId,
      username: issue.username,
      clientId: issue.client.clientId,
      scope: issue.scope,
      fhirUser: issue.fhirUser,
      ...(issue.patient !== undefined ? { patient: issue.patient } : {}),
      offline,
      expiresAt: offline ? nowMs + OFFLINE_REFRESH_SECONDS * 1000 : issue.onlineUntil,
      revoked: false,
    };
    await issuer.accounts.saveRefreshToken(record);
    response.refresh_token = refreshToken;
  }
  if (scopes.includes('openid')) response.id_token = await idToken(issuer, issue, Math.floor(nowMs / 1000));
  // A replay revoked the family while these tokens were being made (parallel refreshes): they are born revoked.
  if (await issuer.revocations.familyRevoked(issue.familyId)) {
    await issuer.revocations.revokeFamily(issue.familyId);
    throw invalidGrant('The refresh token has been used before; its family is revoked');
  }
  return response;
}

/** A disabled or removed user gets no more tokens, whatever they hold. */
async function assertUserActive(issuer: TokenIssuer, username: string): Promise<void> {
  const user = await issuer.accounts.getUser(username);
  if (!user || user.disabled) throw invalidGrant('The user can no longer sign in');
}

/**
 * `grant_type=authorization_code` (RFC 6749 section 4.1.3, RFC 7636 section
 * 4.6): the code once, within 60 seconds, by the client it was issued to,
 * with the same redirect URI and the PKCE verifier of its challenge. A code
 * presented again revokes every token issued from it (RFC 6749 section 4.1.2).
 */
export async function authorizationCodeGrant(issuer: TokenIssuer, form: Form, authorization: string | undefined, nowMs: number): Promise<TokenResponse> {
  const client = await authenticateClient(issuer, form, authorization, nowMs);
  const code = single(form, 'code');
  const verifier = single(form, 'code_verifier');
  const redirectUri = single(form, 'redirect_uri');
  if (!code) throw new OAuthError(400, 'invalid_request', 'code is required');
  if (!verifier) throw new OAuthError(400, 'invalid_request', 'code_verifier is required (PKCE)');
  if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) throw new OAuthError(400, 'invalid_request', 'code_verifier must be 43 to 128 unreserved characters (RFC 7636)');
  const familyId = randomUUID();
  const redemption = await issuer.codes.redeem(code, familyId, nowMs);
  if (redemption.outcome === 'reused') {
    await issuer.revocations.revokeFamily(redemption.familyId);
    throw invalidGrant('The code has been used before; the tokens issued from it are revoked');
  }
  if (redemption.outcome === 'invalid') throw invalidGrant('The code is unknown or expired');
  const grant = redemption.grant;
  if (grant.clientId !== client.clientId) throw invalidGrant('The code was issued to another client');
  if (redirectUri !== grant.redirectUri) throw invalidGrant('redirect_uri differs from the authorization request');
  if (!sameText(s256(verifier), grant.codeChallenge)) throw invalidGrant('The code_verifier does not match the code_challenge');
  await assertUserActive(issuer, grant.username);
  return respond(
    issuer,
    {
      client,
      familyId,
      username: grant.username,
      fhirUser: grant.fhirUser,
      scope: grant.scope,
      ...(grant.patient !== undefined ? { patient: grant.patient } : {}),
      ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
      authTime: grant.authTime,
      onlineUntil: grant.authTime + SESSION_SECONDS * 1000,
    },
    nowMs,
  );
}

/**
 * The client of a refresh request. RFC 6749 section 6 asks only confidential
 * clients to authenticate; a public client may omit its `client_id` (SMART's
 * fhirclient does), and is then the client the token was issued to.
 */
function refreshingClient(issuer: TokenIssuer, form: Form, authorization: string | undefined, tokenClientId: string | undefined, nowMs: number) {
  const identifies = ['client_id', 'client_assertion', 'client_assertion_type', 'client_secret'].some((name) => single(form, name) !== undefined) || authorization !== undefined;
  const owner = tokenClientId === undefined ? undefined : issuer.clients.get(tokenClientId);
  if (!identifies && owner?.type === 'public') return Promise.resolve(owner);
  return authenticateClient(issuer, form, authorization, nowMs);
}

/**
 * `grant_type=refresh_token` (RFC 6749 section 6; OAuth 2.0 Security BCP
 * section 4.14: rotation with reuse detection): each refresh token works
 * once and is replaced; an old one presented again revokes the whole family,
 * access tokens included. A narrower `scope` may be asked for, never a wider one.
 */
export async function refreshTokenGrant(issuer: TokenIssuer, form: Form, authorization: string | undefined, nowMs: number): Promise<TokenResponse> {
  const presented = single(form, 'refresh_token');
  if (!presented) throw new OAuthError(400, 'invalid_request', 'refresh_token is required');
  const record = await issuer.accounts.findRefreshToken(tokenHash(presented));
  const client = await refreshingClient(issuer, form, authorization, record?.clientId, nowMs);
  if (!record || record.clientId !== client.clientId) throw invalidGrant('The refresh token is unknown');
  if (record.revoked) throw invalidGrant('The refresh token has been revoked');
  // Used before, or used at this very moment by a parallel request: a replay either way.
  if (record.usedAt !== undefined || !(await issuer.accounts.claimRefreshToken(record.hash, nowMs))) {
    await issuer.revocations.revokeFamily(record.familyId);
    throw invalidGrant('The refresh token has been used before; its family is revoked');
  }
  if (record.expiresAt < nowMs) throw invalidGrant('The refresh token has expired');
  await assertUserActive(issuer, record.username);
  const granted = scopesOf(record.scope);
  const asked = single(form, 'scope');
  const scopes = asked === undefined ? granted : scopesOf(asked);
  if (scopes.some((scope) => !granted.includes(scope))) throw new OAuthError(400, 'invalid_scope', 'A refresh cannot widen the scopes granted');
  return respond(
    issuer,
    {
      client,
      familyId: record.familyId,
      username: record.username,
      fhirUser: record.fhirUser,
      // The refresh token keeps the scopes; a narrower request narrows this access token.
      scope: scopes.join(' '),
      ...(record.patient !== undefined ? { patient: record.patient } : {}),
      authTime: nowMs,
      onlineUntil: record.expiresAt,
    },
    nowMs,
  );
}
