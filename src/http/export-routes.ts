/**
 * The HTTP side of Bulk Data export that is not an operation: the status URL
 * a kick-off names (GET polls, DELETE cancels) and the output files under
 * it (export.html "Bulk Data Status Request", "File Request"). Every route
 * needs the bearer token of the principal that started the job; anyone
 * else is told 404 (src/export/service.ts).
 */
import { open } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../context';
import { notFound } from '../errors';
import type { ExportService } from '../export/service';
import { sendJson } from './reply';

const OPERATOR: Principal = { kind: 'operator' };
export const NDJSON = 'application/fhir+ndjson';

/*
 * The service is not called `exports`: where this file is compiled to
 * CommonJS (tap's loader), a parameter of that name shadows the module's
 * `exports` object, through which the compiled code reads NDJSON, and the
 * files went out as application/octet-stream.
 */
export function registerExportRoutes(app: FastifyInstance, service: ExportService): void {
  app.get<{ Params: { job: string } }>('/$export-status/:job', async (request, reply) => {
    const status = await service.status(request.principal ?? OPERATOR, request.params.job);
    if (status.kind === 'running') {
      return reply.code(202).header('x-progress', status.progress).header('retry-after', String(status.retryAfter)).send();
    }
    if (status.kind === 'failed') return sendJson(request, reply, 500, status.outcome);
    reply.header('expires', status.expires.toUTCString());
    return reply.code(200).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(status.manifest));
  });

  app.delete<{ Params: { job: string } }>('/$export-status/:job', async (request, reply) => {
    await service.cancel(request.principal ?? OPERATOR, request.params.job);
    return reply.code(202).send();
  });

  // Clients ask for the files with Accept: application/fhir+ndjson (export.html "File Request").
  app.get<{ Params: { job: string; file: string } }>('/$export-status/:job/:file', { config: { ndjson: true } }, async (request, reply) => {
    const path = await service.file(request.principal ?? OPERATOR, request.params.job, request.params.file);
    // Opened first (a DELETE or the expiry may remove it meanwhile: then it is gone, 404), then
    // streamed from disk: a file may hold EXPORT_FILE_MAX_RESOURCES large resources.
    const handle = await open(path).catch(() => undefined);
    if (!handle) throw notFound(`Export job ${request.params.job} has no file ${request.params.file}`);
    return reply.code(200).header('content-type', NDJSON).send(handle.createReadStream());
  });
}
