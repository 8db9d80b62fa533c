import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal, RequestContext } from '../context';
import type { Storage } from '../storage/port';
import type { AccessPartSource } from './access-filter';
import { installAudit } from './audit/install-audit';
import { createRequestGuard, type RequestGuard } from './request-guard';
import { classifyRequest, type ClassifiedRequest } from './scopes/classify';
import { authenticate, type Auth } from './auth/auth-service';
import { isPublicRequest, registerAuthRoutes } from './auth/auth-routes';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking: set by the authentication hook (absent on public requests). */
    principal?: Principal;
    /** What a FHIR request does (set once it is authorized). */
    fhirRequest?: ClassifiedRequest;
    /** The context every layer of this request receives. */
    fhirContext?: RequestContext;
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

export const AUTH_OFF_WARNING = 'AUTH_MODE=off: security is disabled, every request acts as the operator without authentication';

/**
 * The authorization pipeline around the FHIR routes: authenticate
 * (onRequest: 401), then classify, authorize (403) and build the request
 * context with its access filter (preHandler: it needs the route and, for
 * writes, the body). Handlers read the context with `securedContext`.
 */
export function installSecurity(app: FastifyInstance, options: SecurityOptions): RequestGuard {
  const { auth, storage, baseUrl, basePath } = options;
  const guard = createRequestGuard({ storage, baseUrl, accessSources: options.accessSources });
  if (auth.mode === 'on') registerAuthRoutes(app, auth, basePath);
  else app.log.warn(AUTH_OFF_WARNING);
  installAudit(app, { storage, baseUrl });

  app.addHook('onRequest', async (request) => {
    if (auth.mode === 'off') {
      request.log.warn(AUTH_OFF_WARNING);
      request.principal = OPERATOR;
      return;
    }
    if (isPublicRequest(request.method, request.url, basePath)) return;
    request.principal = await authenticate(auth, request.headers.authorization, storage);
  });

  app.addHook('preHandler', async (request) => {
    const route = request.routeOptions.url;
    const principal = request.principal;
    if (!principal || route === undefined || !route.startsWith(basePath)) return;
    const classified = classifyRequest(request.method, route.slice(basePath.length), request.params as Record<string, string | undefined>);
    request.fhirRequest = classified;
    // 405 whoever asks: a token without every right must not be told 403 instead.
    if (request.routeOptions.config.methodNotAllowed) return;
    request.fhirContext = await guard.guard({ principal, classified, requestId: request.id, now: new Date(), body: request.body });
  });
  return guard;
}

/** The request's context: the one the security hooks built, else the operator's (public requests). */
export function securedContext(request: FastifyRequest, baseUrl: string): RequestContext {
  return request.fhirContext ?? { requestId: request.id, baseUrl, principal: OPERATOR, now: new Date() };
}
