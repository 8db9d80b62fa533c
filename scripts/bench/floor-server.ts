import Database from 'better-sqlite3';
import Fastify from 'fastify';

/**
 * The floor the read-by-id figures are measured against: the same framework
 * (Fastify) and driver (better-sqlite3) on the same database file, doing
 * nothing but returning the stored JSON string of a resource by id. No
 * routing table, validation, security, audit or logging: what any FHIR
 * server on this stack cannot beat. Started by the bench as its own process
 * (server-process.ts), like the server: PORT, SQLITE_PATH, BASE_URL.
 */
const db = new Database(process.env.SQLITE_PATH ?? 'concord.db', { readonly: true });
const byId = db.prepare('SELECT json FROM resources WHERE type = ? AND id = ?').pluck();
const base = new URL(process.env.BASE_URL ?? 'http://127.0.0.1:8080/fhir').pathname.replace(/\/$/, '');
const app = Fastify({ logger: false });

app.get(`${base}/metadata`, async (_request, reply) => reply.header('content-type', 'application/fhir+json').send('{"resourceType":"CapabilityStatement"}'));
app.get<{ Params: { type: string; id: string } }>(`${base}/:type/:id`, async (request, reply) => {
  const json = byId.get(request.params.type, request.params.id) as string | undefined;
  if (json === undefined) return reply.code(404).send();
  return reply.header('content-type', 'application/fhir+json; charset=utf-8').send(json);
});

app.listen({ port: Number(process.env.PORT ?? 8080), host: '127.0.0.1' }).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
