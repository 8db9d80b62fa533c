import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FhirError, type IssueCode } from '../errors';
import { methodNotAllowed, type RestRouter } from '../rest/router';
import { sendOutcome } from './reply';

/** Fastify's own client errors, by code, as FHIR issue codes. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; code: IssueCode; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'too-costly', message: 'The request body is larger than MAX_BODY_BYTES allows' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'not-supported', message: 'Unsupported Content-Type: this server accepts FHIR JSON only' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid', message: 'The request body is empty' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'not-supported' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'not-supported' },
};

function clientError(error: FastifyError): { status: number; code: IssueCode; message: string } | undefined {
  const known = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined;
  if (known) return { status: known.status, code: known.code, message: known.message ?? error.message };
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, code: 'structure', message: 'The request body is not valid JSON' };
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: 'invalid', message: error.message };
  }
  return undefined;
}

function sendError(request: FastifyRequest, reply: FastifyReply, error: FhirError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return sendOutcome(request, reply, error.status, error.issues);
}

/**
 * Every error leaves as an OperationOutcome. FhirErrors and Fastify's client
 * errors carry their status; anything else is a bug: 500, logged with the
 * request id, and the body says nothing about the internals.
 */
export function installErrorHandling(app: FastifyInstance, basePath: string, router: RestRouter): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof FhirError) return sendError(request, reply, error);
    const known = clientError(error);
    if (known) return sendOutcome(request, reply, known.status, [{ severity: 'error', code: known.code, diagnostics: known.message }]);
    request.log.error({ err: { type: error.name, message: error.message, stack: error.stack } }, 'unexpected error');
    return sendOutcome(request, reply, 500, [
      { severity: 'error', code: 'exception', diagnostics: `Internal server error (request id ${request.id})` },
    ]);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    if (path.startsWith(basePath)) {
      // A path the route table knows, with another method: 405 with the methods it takes.
      const allow = router.allowed(path.slice(basePath.length) || '/');
      if (allow) return sendError(request, reply, methodNotAllowed(request.method, allow));
    }
    return sendOutcome(request, reply, 404, [{ severity: 'error', code: 'not-found', diagnostics: 'No such endpoint' }]);
  });
}
