import type { FastifyInstance } from 'fastify';
import type { Principal } from '../context';
import type { Storage } from '../storage/port';
import type { AccessPartSource } from './access-filter';
import { authOffWarning } from './auth-off-warning';
import { installAudit } from './audit/install-audit';
import { createRequestGuard, type RequestGuard } from './request-guard';
import type { ClassifiedRequest } from './scopes/classify';
import { authenticate, type Auth } from './auth/auth-service';
import { isPublicRequest, registerAuthRoutes } from './auth/auth-routes';
import { installCors } from './auth/cors';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking: set by the authentication hook (absent on public requests). */
    principal?: Principal;
    /** What a FHIR request does (set by its route before admission, for the audit record). */
    fhirRequest?: ClassifiedRequest;
  }
}

export interface SecurityOptions {
  auth: Auth;
  storage: Storage;
  baseUrl: string;
  basePath: string;
  /** Further access layers (consent), ANDed with the scope layer. */
  accessSources?: readonly AccessPartSource[];
}

const OPERATOR: Principal = { kind: 'operator' };

export { AUTH_OFF_WARNING } from './auth-off-warning';

/**
 * Security around the FHIR routes, as far as HTTP is concerned:
 * authentication (onRequest: 401) and the audit hooks. It returns the
 * request guard the routes admit every request with (src/interactions/dispatch.ts).
 */
export function installSecurity(app: FastifyInstance, options: SecurityOptions): RequestGuard {
  const { auth, storage, baseUrl, basePath } = options;
  const guard = createRequestGuard({ storage, baseUrl, accessSources: options.accessSources });
  if (auth.mode === 'on') {
    installCors(app, auth.origin, auth.server.corsOrigins);
    registerAuthRoutes(app, auth, basePath, storage, guard);
    for (const warning of auth.warnings) app.log.warn(warning);
  }
  // With AUTH_MODE=off every caller is the operator without a token, whom the audit never records: its request hooks would only cost.
  installAudit(app, { storage, baseUrl, requestHooks: auth.mode === 'on' });

  if (auth.mode === 'off') {
    const offWarning = authOffWarning((message) => app.log.warn(message), { now: auth.now });
    app.addHook('onRequest', (request, _reply, done) => {
      offWarning.remind();
      request.principal = OPERATOR;
      done();
    });
    return guard;
  }
  app.addHook('onRequest', async (request) => {
    // A CORS preflight carries no credentials by definition (Fetch Standard); the CORS plugin answers it.
    if (request.method === 'OPTIONS' || isPublicRequest(request.method, request.url, basePath)) return;
    request.principal = await authenticate(auth, request.headers.authorization, storage);
  });

  return guard;
}
