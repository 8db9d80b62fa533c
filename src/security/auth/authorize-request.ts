import type { RegisteredClient } from './clients';
import { grantedScopes } from './scope-grant';

/** A refusal of `GET /auth/authorize`: a page when the client or redirect URI cannot be trusted, a redirect otherwise. */
export type AuthorizeRefusal = { kind: 'page'; message: string } | { kind: 'redirect'; redirectUri: string; error: string; description: string; state?: string };

export interface ValidAuthorizeRequest {
  kind: 'valid';
  client: RegisteredClient;
  redirectUri: string;
  state: string;
  scopes: string[];
  codeChallenge: string;
  nonce?: string;
}

/** Scopes about identity and refresh, which the client's clinical scopes cannot cover: granted only when listed verbatim. */
const PKCE_CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

/**
 * The checks of an authorization request, in the order RFC 6749 section
 * 4.1.2.1 requires: first the client and the exact redirect URI (a failure
 * there is shown to the user, never redirected: no open redirect), then
 * everything else, answered at the redirect URI with `error` and `state`.
 * SMART App Launch 2.2: `aud` must be this server's FHIR base; PKCE S256 only.
 */
export function checkAuthorizeRequest(
  query: ReadonlyMap<string, string[]>,
  clients: ReadonlyMap<string, RegisteredClient>,
  baseUrl: string,
): ValidAuthorizeRequest | AuthorizeRefusal {
  const one = (name: string) => {
    const values = query.get(name) ?? [];
    return values.length === 1 ? values[0] : undefined;
  };
  const clientId = one('client_id');
  const client = clientId === undefined ? undefined : clients.get(clientId);
  if (!client || client.redirectUris.length === 0) return { kind: 'page', message: 'This app is not registered with Concord.' };
  const redirectUri = one('redirect_uri');
  if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
    return { kind: 'page', message: 'The app sent a return address that is not registered for it.' };
  }
  const state = one('state');
  const refuse = (error: string, description: string): AuthorizeRefusal => ({ kind: 'redirect', redirectUri, error, description, ...(state !== undefined ? { state } : {}) });
  for (const name of ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'aud', 'code_challenge', 'code_challenge_method']) {
    if ((query.get(name)?.length ?? 0) > 1) return refuse('invalid_request', `${name} is repeated`);
  }
  if (one('response_type') !== 'code') return refuse('unsupported_response_type', 'response_type must be code');
  if (state === undefined || state === '') return refuse('invalid_request', 'state is required');
  if (one('aud') !== baseUrl) return refuse('invalid_request', `aud must be this server's FHIR base URL, ${baseUrl}`);
  const method = one('code_challenge_method');
  if (method === undefined) return refuse('invalid_request', 'PKCE is required: code_challenge_method=S256');
  if (method !== 'S256') return refuse('invalid_request', 'code_challenge_method must be S256 (plain is refused)');
  const codeChallenge = one('code_challenge');
  if (codeChallenge === undefined || !PKCE_CHALLENGE.test(codeChallenge)) return refuse('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)');
  const requested = (one('scope') ?? '').split(/\s+/).filter(Boolean);
  const scopes = grantedScopes(requested, client.allowedScopes, baseUrl);
  if (scopes.length === 0) return refuse('invalid_scope', 'None of the requested scopes is allowed for this app');
  const nonce = one('nonce');
  return { kind: 'valid', client, redirectUri, state, scopes, codeChallenge, ...(nonce !== undefined ? { nonce } : {}) };
}

/** `redirect_uri` with the answer's parameters added (RFC 6749 section 4.1.2). */
export function redirectWith(redirectUri: string, parameters: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}
