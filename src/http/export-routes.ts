/**
 * The HTTP side of Bulk Data export that is not an operation: the status URL
 * a kick-off names (GET polls, DELETE cancels) and the output files under
 * it (export.html "Bulk Data Status Request", "File Request"). Every route
 * needs the bearer token of the principal that started the job; anyone
 * else is told 404 (src/export/service.ts).
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../context';
import type { ExportService } from '../export/service';
import { sendJson } from './reply';

const OPERATOR: Principal = { kind: 'operator' };
export const NDJSON = 'application/fhir+ndjson';

export function registerExportRoutes(app: FastifyInstance, exports: ExportService): void {
  app.get<{ Params: { job: string } }>('/$export-status/:job', async (request, reply) => {
    const status = await exports.status(request.principal ?? OPERATOR, request.params.job);
    if (status.kind === 'running') {
      return reply.code(202).header('x-progress', status.progress).header('retry-after', String(status.retryAfter)).send();
    }
    if (status.kind === 'failed') return sendJson(request, reply, 500, status.outcome);
    reply.header('expires', status.expires.toUTCString());
    return reply.code(200).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(status.manifest));
  });

  app.delete<{ Params: { job: string } }>('/$export-status/:job', async (request, reply) => {
    await exports.cancel(request.principal ?? OPERATOR, request.params.job);
    return reply.code(202).send();
  });

  app.get<{ Params: { job: string; file: string } }>('/$export-status/:job/:file', async (request, reply) => {
    const path = await exports.file(request.principal ?? OPERATOR, request.params.job, request.params.file);
    // Read whole: a file holds at most EXPORT_FILE_MAX_RESOURCES.
    const content = await readFile(path);
    return reply.code(200).header('content-type', NDJSON).send(content);
  });
}
