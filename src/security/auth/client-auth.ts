import { timingSafeEqual } from 'node:crypto';
import { decodeJwt, jwtVerify } from 'jose';
import { ACCEPTED_ALGORITHMS, CLOCK_TOLERANCE_SECONDS } from './algorithms';
import { secretDigest, type RegisteredClient } from './clients';
import { OAuthError } from './oauth-error';
import type { UsedJtiRegistry } from './used-jti';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Client assertions may not be valid for longer than this (SMART Backend Services). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

export type Form = ReadonlyArray<readonly [string, string]>;

export const invalidClient = (description: string) => new OAuthError(401, 'invalid_client', description);

export function single(form: Form, name: string): string | undefined {
  const values = form.filter(([key]) => key === name).map(([, value]) => value);
  if (values.length > 1) throw new OAuthError(400, 'invalid_request', `${name} is repeated`);
  return values[0];
}

export interface ClientDirectory {
  clients: ReadonlyMap<string, RegisteredClient>;
  /** The URL client assertions must name in `aud`. */
  tokenEndpoint: string;
  usedJti: UsedJtiRegistry;
}

/** Checks a private_key_jwt client assertion (iss = sub = client_id, aud, exp within 5 minutes, fresh jti) and returns its client. */
async function assertedClient(directory: ClientDirectory, assertion: string, nowMs: number): Promise<RegisteredClient> {
  let clientId: unknown;
  try {
    clientId = decodeJwt(assertion).iss;
  } catch {
    throw invalidClient('client_assertion is not a well-formed JWT');
  }
  const client = typeof clientId === 'string' ? directory.clients.get(clientId) : undefined;
  if (!client?.keys) throw invalidClient('Unknown client');
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, client.keys, {
      algorithms: [...ACCEPTED_ALGORITHMS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: directory.tokenEndpoint,
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
  if (!(await directory.usedJti.claim(`${client.clientId} ${String(payload.jti)}`, expMs + CLOCK_TOLERANCE_SECONDS * 1000, nowMs))) {
    throw invalidClient('The client assertion jti has been used before');
  }
  return client;
}

/** `Authorization: Basic` (RFC 6749 section 2.3.1: form-urlencoded id and secret), or undefined. */
function basicCredentials(authorization: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('The Basic credentials are malformed');
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('The Basic credentials are malformed');
  }
}

function secretMatches(client: RegisteredClient, secret: string): boolean {
  return client.secretHash !== undefined && timingSafeEqual(secretDigest(secret), client.secretHash);
}

/**
 * The client making a token-endpoint request (token, introspection,
 * revocation), authenticated the way its type requires: private_key_jwt for
 * confidential-asymmetric, the secret (Basic or in the form) for
 * confidential-symmetric, and only its `client_id` for a public client, whose
 * proof is PKCE at the code exchange. A confidential client that sends only
 * its id is refused.
 */
export async function authenticateClient(directory: ClientDirectory, form: Form, authorization: string | undefined, nowMs = Date.now()): Promise<RegisteredClient> {
  const assertion = single(form, 'client_assertion');
  const assertionType = single(form, 'client_assertion_type');
  if (assertion !== undefined || assertionType !== undefined) {
    if (assertionType !== JWT_BEARER_ASSERTION) throw invalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    if (!assertion) throw invalidClient('client_assertion is required');
    const client = await assertedClient(directory, assertion, nowMs);
    const named = single(form, 'client_id');
    if (named !== undefined && named !== client.clientId) throw invalidClient('client_id does not match the assertion');
    return client;
  }
  const basic = basicCredentials(authorization);
  const formSecret = single(form, 'client_secret');
  const clientId = basic?.id ?? single(form, 'client_id');
  const client = clientId === undefined ? undefined : directory.clients.get(clientId);
  if (!client) throw invalidClient('Unknown client (or no client authentication)');
  if (client.type === 'public') {
    if (basic || formSecret !== undefined) throw invalidClient('A public client has no secret');
    return client;
  }
  if (client.type === 'confidential-asymmetric') throw invalidClient('This client authenticates with private_key_jwt');
  const secret = basic?.secret ?? formSecret;
  if (secret === undefined || !secretMatches(client, secret)) throw invalidClient('The client secret is wrong');
  return client;
}
