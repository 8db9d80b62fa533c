import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { DEFAULT_MAX_BUNDLE_ENTRIES, type Config } from '../config';
import { DEFAULT_EXPORT_SETTINGS, ExportService, type ExportSettings } from '../export/service';
import type { Services } from '../interactions/services';
import type { ExportJobStore } from '../storage/export-jobs';
import type { AnyResource } from '../fhir/types';
import type { VersionRecord } from '../fhir/version-record';
import { createSqliteExportJobStore } from '../storage/sqlite/export-job-store';
import { registerExportRoutes } from './export-routes';
import { serverRouter } from '../rest/server-routes';
import { ROUTER_OPTIONS } from '../rest/router';
import type { AccessPartSource } from '../security/access-filter';
import type { Auth } from '../security/auth/auth-service';
import { installScheduling, type SchedulingOptions } from '../scheduling/install';
import { timeOrderedId } from '../security/audit/install-audit';
import { serverWriteAudit } from '../security/audit/server-writes';
import { installSecurity } from '../security/install-security';
import { clientErrorHandler, frameworkError, installErrorHandling } from './error-handling';
import { exceedsDepth, tooDeep } from './json-depth';
import { registerFhirRoutes } from './fhir-routes';
import { registerPrivacyPage } from './privacy-page';
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
  /** The booking rule's settings (SCHEDULING_HOLD_SECONDS; a clock for tests). */
  scheduling?: SchedulingOptions;
  /**
   * Bulk Data export: where jobs are stored and its settings. main.ts passes
   * the engine's job store and the EXPORT_* configuration; absent, jobs are
   * kept in an in-memory SQLite table and files in a temporary folder (tests).
   */
  exports?: { jobs?: ExportJobStore; settings?: Partial<ExportSettings> };
}

/**
 * The HTTP layer: parsing, content negotiation, one log line per request and
 * the mapping of every error to an OperationOutcome. Routes live in
 * the route table (src/rest/routes.ts), registered by fhir-routes.ts;
 * nothing here knows about FHIR semantics.
 */
export function buildServer({ config, services, logStream, auth, accessSources, scheduling, exports: exportOptions }: ServerOptions): FastifyInstance {
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
    const ndjson = (request.routeOptions.config as { ndjson?: boolean } | undefined)?.ndjson === true;
    request.responseFormat = { mediaType: responseMediaType(request, format, ndjson), pretty };
  });

  // One line per request, built only when it is written (LOG_LEVEL=info or lower); a callback hook, no promise per request.
  const requestLines = ['trace', 'debug', 'info'].includes(config.logLevel);
  app.addHook('onResponse', (request, reply, done) => {
    if (requestLines) {
      request.log.info(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        'request',
      );
    }
    done();
  });

  // After the hook above, so that a 401 or 403 carries the request id and honours the format.
  const guard = installSecurity(app, { auth: auth ?? { mode: 'off' }, storage: services.storage, baseUrl: config.baseUrl, basePath: config.basePath, accessSources });
  const router = serverRouter();
  // A SMART app of the authorization server: without one (AUTH_MODE=off) it could not sign anyone in.
  if (auth?.mode === 'on') registerPrivacyPage(app, { baseUrl: config.baseUrl });
  installErrorHandling(app, config.basePath, router);
  // The booking rule lives on the storage's commit hooks: every write path of Appointment and Slot keeps it.
  // The sweeper's cancellations are writes like any other: audited through the same buffer, with the patient.
  const sweepAudit = serverWriteAudit(config.baseUrl);
  const onHoldsReleased = (released: readonly VersionRecord[]) =>
    app.auditTrail.add(sweepAudit('hold-sweeper', 'update', released).map((event) => ({ ...event, id: timeOrderedId() }) as unknown as AnyResource));
  const booking = installScheduling(services.storage, config.baseUrl, { ...scheduling, onHoldsReleased }, (message) => app.log.error(message));
  app.addHook('onClose', async () => booking.stop());
  const exportJobs = exportOptions?.jobs ?? createSqliteExportJobStore(':memory:');
  // Not `exports`: compiled to CommonJS that name would shadow the module's exports object.
  const exportService = new ExportService({
    services,
    guard,
    jobs: exportJobs,
    baseUrl: config.baseUrl,
    // The jobs' AuditEvents go through the same buffer as every request's (security/audit/).
    audit: (events) => app.auditTrail.add(events.map((event) => ({ ...event, id: timeOrderedId() }))),
    settings: { ...DEFAULT_EXPORT_SETTINGS, dir: join(tmpdir(), `concord-exports-${process.pid}`), ...exportOptions?.settings },
  });
  // Started once the server is ready (jobs a stopped server was running resume), stopped before the audit buffer's last flush.
  app.addHook('onReady', () => exportService.start());
  app.addHook('preClose', () => exportService.stop());
  app.addHook('onClose', async () => (exportOptions?.jobs ? undefined : exportJobs.close()));
  const routeServices = { ...services, scheduling: booking, exports: exportService, maxBundleEntries: config.maxBundleEntries ?? DEFAULT_MAX_BUNDLE_ENTRIES };
  app.register(
    async (fhir) => {
      registerFhirRoutes(fhir, { services: routeServices, router, guard, baseUrl: config.baseUrl });
      registerExportRoutes(fhir, exportService);
    },
    { prefix: config.basePath },
  );
  return app;
}
