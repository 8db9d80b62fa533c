import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { DEFAULT_MAX_BUNDLE_ENTRIES, type Config } from '../config';
import type { Services } from '../interactions/services';
import { serverRouter } from '../rest/server-routes';
import { ROUTER_OPTIONS } from '../rest/router';
import type { AccessPartSource } from '../security/access-filter';
import type { Auth } from '../security/auth/auth-service';
import { installSecurity } from '../security/install-security';
import { clientErrorHandler, frameworkError, installErrorHandling } from './error-handling';
import { exceedsDepth, tooDeep } from './json-depth';
import { registerFhirRoutes } from './fhir-routes';
import { FHIR_JSON, FORM, JSON_PATCH, responseMediaType } from './formats';
import { queryPairs } from './request-helpers';

export interface ServerOptions {
  config: Pick<Config, 'baseUrl' | 'basePath' | 'maxBodyBytes' | 'logLevel'> & Partial<Pick<Config, 'maxBundleEntries'>>;
  services: Services;
  /** A pino destination for tests; stdout otherwise. */
  logStream?: NodeJS.WritableStream;
  /**
   * SMART security (src/security/auth/). main.ts always passes it; absent
   * means off (tests that build the server directly), which logs the
   * AUTH_MODE=off warning at start and at most once a minute after
   * (src/security/auth-off-warning.ts) so it cannot go unnoticed.
   */
  auth?: Auth;
  /** Access layers ANDed with the scopes (the consent layer). */
  accessSources?: readonly AccessPartSource[];
}

/**
 * The HTTP layer: parsing, content negotiation, one log line per request and
 * the mapping of every error to an OperationOutcome. Routes live in
 * the route table (src/rest/routes.ts), registered by fhir-routes.ts;
 * nothing here knows about FHIR semantics.
 */
export function buildServer({ config, services, logStream, auth, accessSources }: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: { level: config.logLevel, ...(logStream ? { stream: logStream } : {}) },
    // The default request logging writes URLs, which can hold identifying search values.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    genReqId: () => randomUUID(),
    // A client-chosen request id could be anything, including patient data.
    requestIdHeader: false,
    return503OnClosing: true,
    // The router the route table's entries are matched with in bundles too (src/rest/router.ts).
    routerOptions: ROUTER_OPTIONS,
    // Errors raised before routing, or by Node's HTTP parser: OperationOutcomes too (error-handling.ts).
    frameworkErrors: frameworkError,
    clientErrorHandler,
  });

  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  // Every JSON body, before anything walks it: nested too deeply, it is refused (json-depth.ts).
  const jsonParser: typeof defaultJsonParser = (request, body, done) =>
    defaultJsonParser(request, body, (error, value) => {
      // V8's parser gives up on extreme nesting with a RangeError: the same answer.
      if (error instanceof RangeError || (!error && exceedsDepth(value))) return done(tooDeep(), undefined);
      return done(error, value);
    });
  app.addContentTypeParser(['application/json', FHIR_JSON, JSON_PATCH, 'application/json+fhir'], { parseAs: 'string' }, jsonParser);
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    done(null, [...new URLSearchParams(body as string).entries()]);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const pairs = queryPairs(request);
    const format = pairs.find(([key]) => key === '_format')?.[1];
    const pretty = pairs.some(([key, value]) => key === '_pretty' && value === 'true');
    // Set before negotiating, so that a 406 still honours _pretty.
    request.responseFormat = { mediaType: FHIR_JSON, pretty };
    request.responseFormat = { mediaType: responseMediaType(request, format), pretty };
  });

  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });

  // After the hook above, so that a 401 or 403 carries the request id and honours the format.
  const guard = installSecurity(app, { auth: auth ?? { mode: 'off' }, storage: services.storage, baseUrl: config.baseUrl, basePath: config.basePath, accessSources });
  const router = serverRouter();
  installErrorHandling(app, config.basePath, router);
  const routeServices = { ...services, maxBundleEntries: config.maxBundleEntries ?? DEFAULT_MAX_BUNDLE_ENTRIES };
  app.register(async (fhir) => registerFhirRoutes(fhir, { services: routeServices, router, guard, baseUrl: config.baseUrl }), { prefix: config.basePath });
  return app;
}
