import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Storage } from '../../storage/port';
import type { RequestGuard } from '../request-guard';
import type { AuthOn } from './auth-service';
import { PRIVACY_PATH } from './built-in-clients';
import { APPROVE_PATH, AUTHORIZE_PATH, LOGIN_PATH, LOGOUT_PATH, PICK_PATH, registerAuthorizeRoutes, STYLE_PATH } from './authorize-routes';
import type { Form } from './client-auth';
import {
  INTROSPECT_PATH,
  JWKS_PATH,
  OPENID_CONFIGURATION_PATH,
  openidConfiguration,
  REVOKE_PATH,
  SMART_CONFIGURATION_PATH,
  smartConfiguration,
  TOKEN_PATH,
} from './discovery';
import { OAuthError } from './oauth-error';
import { issueToken } from './token-endpoint';
import { introspect, revoke } from './token-management';

/** A token-endpoint style POST: form in, JSON out, never cached (RFC 6749 section 5.1), OAuth errors as RFC 6749 section 5.2 says. */
function formEndpoint(app: FastifyInstance, path: string, handle: (form: Form, request: FastifyRequest) => Promise<unknown>): void {
  app.post(path, async (request, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').header('content-type', 'application/json; charset=utf-8');
    const form = Array.isArray(request.body) ? (request.body as Form) : undefined;
    if (!form) return reply.code(400).send(JSON.stringify(new OAuthError(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded').body()));
    try {
      return reply.code(200).send(JSON.stringify((await handle(form, request)) ?? {}));
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      if (error.status === 401 && request.headers.authorization?.startsWith('Basic')) reply.header('www-authenticate', 'Basic realm="concord"');
      return reply.code(error.status).send(JSON.stringify(error.body()));
    }
  });
}

/** The public auth endpoints: authorization, token, introspection, revocation, key set and discovery (the latter also under the FHIR base). */
export function registerAuthRoutes(app: FastifyInstance, auth: AuthOn, basePath: string, storage: Storage, guard: RequestGuard): void {
  const json = (body: unknown) => {
    const text = JSON.stringify(body);
    return async (_request: unknown, reply: FastifyReply) => reply.header('content-type', 'application/json; charset=utf-8').send(text);
  };
  const discovery = json(smartConfiguration(auth.origin));
  app.get(SMART_CONFIGURATION_PATH, discovery);
  app.get(`${basePath}${SMART_CONFIGURATION_PATH}`, discovery);
  app.get(OPENID_CONFIGURATION_PATH, json(openidConfiguration(auth.origin)));
  app.get(JWKS_PATH, json({ keys: [auth.tokenIssuer.signingKey.publicJwk] }));
  const issuer = auth.tokenIssuer;
  formEndpoint(app, TOKEN_PATH, (form, request) => issueToken(issuer, form, request.headers.authorization));
  formEndpoint(app, INTROSPECT_PATH, (form, request) => introspect(issuer, auth.verifier, form, request.headers.authorization));
  formEndpoint(app, REVOKE_PATH, (form, request) => revoke(issuer, auth.verifier, form, request.headers.authorization));
  registerAuthorizeRoutes(app, auth, storage, guard);
}

const PUBLIC_POSTS = [TOKEN_PATH, INTROSPECT_PATH, REVOKE_PATH, LOGIN_PATH, LOGOUT_PATH, APPROVE_PATH, PICK_PATH];

/** Requests that need no bearer token: the CapabilityStatement, discovery, the key set and the authorization server's own endpoints. */
export function isPublicRequest(method: string, url: string, basePath: string): boolean {
  const path = (url.split('?')[0] ?? '').replace(/\/+$/, '');
  if (method === 'POST') return PUBLIC_POSTS.includes(path);
  if (method !== 'GET' && method !== 'HEAD') return false;
  // The privacy page's files: the page gets its token itself, through the authorization code flow.
  if (path === PRIVACY_PATH.slice(0, -1) || path.startsWith(PRIVACY_PATH)) return true;
  return [`${basePath}/metadata`, SMART_CONFIGURATION_PATH, `${basePath}${SMART_CONFIGURATION_PATH}`, OPENID_CONFIGURATION_PATH, JWKS_PATH, AUTHORIZE_PATH, STYLE_PATH].includes(path);
}
