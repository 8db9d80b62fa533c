import type { FastifyInstance } from 'fastify';
import { JWKS_PATH, SMART_CONFIGURATION_PATH, smartConfiguration, TOKEN_PATH } from './discovery';
import type { AuthOn } from './auth-service';
import { OAuthError } from './oauth-error';
import { issueToken } from './token-endpoint';

/** The public auth endpoints: token, key set and discovery (the latter also under the FHIR base). */
export function registerAuthRoutes(app: FastifyInstance, auth: AuthOn, basePath: string): void {
  const discovery = JSON.stringify(smartConfiguration(auth.origin));
  const jwks = JSON.stringify({ keys: [auth.tokenIssuer.signingKey.publicJwk] });
  const sendDiscovery = async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-type', 'application/json; charset=utf-8').send(discovery);
  app.get(SMART_CONFIGURATION_PATH, sendDiscovery);
  app.get(`${basePath}${SMART_CONFIGURATION_PATH}`, sendDiscovery);
  app.get(JWKS_PATH, async (_request, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(jwks));

  app.post(TOKEN_PATH, async (request, reply) => {
    // Tokens must never be cached by intermediaries (RFC 6749 section 5.1).
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache').header('content-type', 'application/json; charset=utf-8');
    const form = Array.isArray(request.body) ? (request.body as Array<[string, string]>) : undefined;
    if (!form) return reply.code(400).send(JSON.stringify(new OAuthError(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded').body()));
    try {
      return reply.code(200).send(JSON.stringify(await issueToken(auth.tokenIssuer, form)));
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return reply.code(error.status).send(JSON.stringify(error.body()));
    }
  });
}

/** Requests that need no token: the CapabilityStatement, discovery, the key set and the token endpoint. */
export function isPublicRequest(method: string, url: string, basePath: string): boolean {
  const path = url.split('?')[0]!.replace(/\/+$/, '');
  if (method === 'POST') return path === TOKEN_PATH;
  if (method !== 'GET' && method !== 'HEAD') return false;
  return [`${basePath}/metadata`, SMART_CONFIGURATION_PATH, `${basePath}${SMART_CONFIGURATION_PATH}`, JWKS_PATH].includes(path);
}
