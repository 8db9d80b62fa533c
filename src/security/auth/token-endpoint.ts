import { randomUUID } from 'node:crypto';
import { decodeJwt, jwtVerify, SignJWT } from 'jose';
import { ACCEPTED_ALGORITHMS, CLOCK_TOLERANCE_SECONDS } from './algorithms';
import type { RegisteredClient } from './clients';
import { OAuthError } from './oauth-error';
import { grantedScopes } from './scope-grant';
import type { SigningKey } from './signing-key';
import type { UsedJtiRegistry } from './used-jti';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Client assertions may not be valid for longer than this (SMART Backend Services). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
export const ACCESS_TOKEN_LIFETIME_SECONDS = 300;

export interface TokenIssuer {
  /** The server's origin: `iss` of every token it signs. */
  issuer: string;
  /** `BASE_URL`: `aud` of the access tokens. */
  audience: string;
  /** The URL client assertions must name in `aud`. */
  tokenEndpoint: string;
  signingKey: SigningKey;
  clients: ReadonlyMap<string, RegisteredClient>;
  usedJti: UsedJtiRegistry;
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
): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${lifetimeSeconds}s`)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

const invalidClient = (description: string) => new OAuthError(401, 'invalid_client', description);

function single(form: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  const values = form.filter(([key]) => key === name).map(([, value]) => value);
  if (values.length > 1) throw new OAuthError(400, 'invalid_request', `${name} is repeated`);
  return values[0];
}

/** Checks a private_key_jwt client assertion (iss = sub = client_id, aud, exp within 5 minutes, fresh jti) and returns its client. */
async function authenticateClient(issuer: TokenIssuer, assertion: string, nowMs: number): Promise<RegisteredClient> {
  let clientId: unknown;
  try {
    clientId = decodeJwt(assertion).iss;
  } catch {
    throw invalidClient('client_assertion is not a well-formed JWT');
  }
  const client = typeof clientId === 'string' ? issuer.clients.get(clientId) : undefined;
  if (!client) throw invalidClient('Unknown client');
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, client.keys, {
      algorithms: [...ACCEPTED_ALGORITHMS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: issuer.tokenEndpoint,
      requiredClaims: ['exp', 'jti'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(nowMs),
    }));
  } catch (error) {
    throw invalidClient(`The client assertion is not valid: ${(error as Error).message}`);
  }
  const expMs = (payload.exp as number) * 1000;
  if (expMs - nowMs > (MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000) {
    throw invalidClient('The client assertion expires more than 5 minutes from now');
  }
  // Keyed per client: two clients may well pick the same jti.
  if (!issuer.usedJti.claim(`${client.clientId} ${String(payload.jti)}`, expMs + CLOCK_TOLERANCE_SECONDS * 1000, nowMs)) {
    throw invalidClient('The client assertion jti has been used before');
  }
  return client;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

/**
 * `POST /auth/token`, SMART Backend Services
 * (http://hl7.org/fhir/smart-app-launch/backend-services.html): the
 * client_credentials grant with a private_key_jwt assertion. Errors are
 * OAuthErrors for the HTTP layer to render (RFC 6749 section 5.2).
 */
export async function issueToken(issuer: TokenIssuer, form: ReadonlyArray<readonly [string, string]>, nowMs = Date.now()): Promise<TokenResponse> {
  const grantType = single(form, 'grant_type');
  if (grantType === undefined) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', 'Only client_credentials is supported');
  if (single(form, 'client_assertion_type') !== JWT_BEARER_ASSERTION) throw invalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
  const assertion = single(form, 'client_assertion');
  if (!assertion) throw invalidClient('client_assertion is required');
  const client = await authenticateClient(issuer, assertion, nowMs);
  const requested = (single(form, 'scope') ?? '').split(/\s+/).filter(Boolean);
  const granted = grantedScopes(requested, client.allowedScopes, issuer.audience);
  if (granted.length === 0) throw new OAuthError(400, 'invalid_scope', 'None of the requested scopes is allowed for this client');
  const scope = granted.join(' ');
  const claims: AccessTokenClaims = { sub: client.clientId, client_id: client.clientId, scope, ...(client.fhirUser ? { fhirUser: client.fhirUser } : {}) };
  const accessToken = await signAccessToken(issuer.signingKey, issuer.issuer, issuer.audience, claims, ACCESS_TOKEN_LIFETIME_SECONDS);
  return { access_token: accessToken, token_type: 'bearer', expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, scope };
}
