import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FhirError, operationOutcome, type IssueCode } from '../errors';
import { methodNotAllowed, type RestRouter } from '../rest/router';
import { BUSY_RETRY_AFTER_SECONDS, isTransientStorageError } from '../storage/transient';
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

/** How much of a refused body is read and thrown away so the client sees the 413; beyond it the connection is closed. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/** Reads and discards what is left of the request body, up to the limits above. */
function drain(raw: FastifyRequest['raw']): Promise<void> {
  if (raw.complete || raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const finish = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', finish).off('close', finish).off('error', finish);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > DRAIN_LIMIT_BYTES) finish();
    };
    const timer = setTimeout(finish, DRAIN_TIMEOUT_MS);
    raw.on('data', onData).on('end', finish).on('close', finish).on('error', finish);
    raw.resume();
  });
}

/**
 * A body over MAX_BODY_BYTES is refused as soon as Content-Length says so,
 * while the client is still sending it. Answering and closing then would
 * reset the connection with unread data in it, and the client could lose
 * the answer: so the rest is read and discarded first (bounded), and the
 * connection is closed after the 413 (RFC 9110 §15.5.14).
 */
async function drainThenAnswer(request: FastifyRequest, reply: FastifyReply, known: { status: number; code: IssueCode; message: string }) {
  await drain(request.raw);
  reply.header('connection', 'close');
  return sendOutcome(request, reply, known.status, [{ severity: 'error', code: known.code, diagnostics: known.message }]);
}

/**
 * Every error leaves as an OperationOutcome. FhirErrors and Fastify's client
 * errors carry their status; anything else is a bug: 500, logged with the
 * request id, and the body says nothing about the internals.
 */
export function installErrorHandling(app: FastifyInstance, basePath: string, router: RestRouter): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof FhirError) return sendError(request, reply, error);
    if (isTransientStorageError(error)) {
      // Logged without the message: it can quote the statement, and with it values.
      request.log.warn({ err: { type: error.name, code: error.code } }, 'storage busy');
      reply.header('retry-after', String(BUSY_RETRY_AFTER_SECONDS));
      return sendOutcome(request, reply, 503, [{ severity: 'error', code: 'transient', diagnostics: 'The database is busy; retry after a moment' }]);
    }
    const known = clientError(error);
    if (known && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return drainThenAnswer(request, reply, known);
    if (known) return sendOutcome(request, reply, known.status, [{ severity: 'error', code: known.code, diagnostics: known.message }]);
    request.log.error({ err: { type: error.name, message: error.message, stack: error.stack } }, 'unexpected error');
    return sendOutcome(request, reply, 500, [
      { severity: 'error', code: 'exception', diagnostics: `Internal server error (request id ${request.id})` },
    ]);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    if (path.startsWith(basePath)) {
      // A path the route table knows, with another method: 405 with the methods it takes.
      const allow = router.allowed(path.slice(basePath.length) || '/');
      if (allow) return sendError(request, reply, methodNotAllowed(request.method, allow));
    }
    return sendOutcome(request, reply, 404, [{ severity: 'error', code: 'not-found', diagnostics: 'No such endpoint' }]);
  });
}

/**
 * Fastify's routing errors (a URL that does not percent-decode, a parameter
 * longer than the router takes), answered before any hook runs: an
 * OperationOutcome like every other error. The URL is not quoted: it can
 * hold search values.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const diagnostics = error.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid (bad percent-encoding)' : 'The URL is not valid';
  void sendOutcome(request, reply, 400, [{ severity: 'error', code: 'invalid', diagnostics }]);
}

/** Node's HTTP parser errors by code: what the raw answer says (RFC 9110 status codes). */
function rawStatus(code: string | undefined): { status: number; text: string; diagnostics: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, text: 'Request Header Fields Too Large', diagnostics: 'The request headers are too large' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, text: 'Request Timeout', diagnostics: 'The request took too long to arrive' };
  return { status: 400, text: 'Bad Request', diagnostics: 'The request is not valid HTTP' };
}

/**
 * A request Node's HTTP parser refused (bad header syntax, a bad
 * Content-Length, headers too large) never reaches Fastify: the answer is
 * written on the raw socket, as an OperationOutcome, and the connection is
 * closed, since what follows on it cannot be trusted. A HEAD request's
 * answer carries no body (RFC 9110 §9.3.2), or the client would read the
 * body as the next response.
 */
export function clientErrorHandler(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, text, diagnostics } = rawStatus(error.code);
  const head = Buffer.isBuffer(error.rawPacket) && error.rawPacket.subarray(0, 5).toString('latin1').toUpperCase() === 'HEAD ';
  const body = head ? '' : JSON.stringify(operationOutcome([{ severity: 'error', code: status === 431 ? 'too-costly' : 'invalid', diagnostics }]));
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/fhir+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  } else socket.destroy();
}
