import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS (Fetch Standard) for SMART apps served from another origin: they call
 * the FHIR API and the token endpoint from the browser with bearer tokens,
 * never cookies, so credentials stay off. Only `CORS_ORIGINS` and the
 * server's own origin are answered; any other origin gets no CORS headers
 * and its browser refuses to hand the response to the page.
 * Registered before authentication, so that a 401 is readable by the app and
 * a preflight (which carries no token) is answered.
 */
export function installCors(app: FastifyInstance, ownOrigin: string, origins: readonly string[]): void {
  const allowed = new Set([ownOrigin, ...origins]);
  app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'accept', 'if-match', 'if-none-match', 'if-modified-since', 'if-none-exist', 'prefer', 'x-break-glass'],
    exposedHeaders: ['location', 'content-location', 'etag', 'last-modified', 'www-authenticate', 'x-request-id', 'x-break-glass'],
    credentials: false,
    maxAge: 600,
  });
}
