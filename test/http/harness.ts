import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/http/server';
import type { AccessPartSource } from '../../src/security/access-filter';
import type { Auth } from '../../src/security/auth/auth-service';
import { createIndexer } from '../../src/search/indexer';
import type { Storage } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import type { ReferentialIntegrity } from '../../src/config';
import { createValidator } from '../../src/validation/validator';

export const BASE_URL = 'http://localhost:8080/fhir';

/** One validator for all tests in a file: compiling schemas is the slow part. */
const validator = createValidator();

export interface Harness {
  app: FastifyInstance;
  storage: Storage;
  /** Every log line written, parsed. */
  logs: Array<Record<string, unknown>>;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  maxBodyBytes?: number;
  sqlitePath?: string;
  /** Security: off (every request is the operator) unless a test passes a `createAuth` result. */
  auth?: Auth;
  accessSources?: readonly AccessPartSource[];
  /** `REFERENTIAL_INTEGRITY`: strict unless a test loads out of order on purpose. */
  referentialIntegrity?: ReferentialIntegrity;
  /** Bulk Data export's job store and settings (src/http/server.ts). */
  exports?: ServerOptions['exports'];
}

/** A server on an in-memory SQLite database, driven with inject (real routing, parsing and hooks). */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  // A file gets the access-log worker thread, as the server's openStorage gives it.
  const storage = await createSqliteStorage({
    path: options.sqlitePath ?? ':memory:',
    indexer: createIndexer({ baseUrl: BASE_URL }),
    ...(options.sqlitePath ? { appendThread: { baseUrl: BASE_URL } } : {}),
  });
  const logs: Array<Record<string, unknown>> = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const app = buildServer({
    config: { baseUrl: BASE_URL, basePath: '/fhir', maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024, logLevel: 'info' },
    services: { storage, validator, ...(options.referentialIntegrity && { referentialIntegrity: options.referentialIntegrity }) },
    logStream,
    auth: options.auth ?? { mode: 'off' },
    accessSources: options.accessSources,
    ...(options.exports ? { exports: options.exports } : {}),
  });
  await app.ready();
  return {
    app,
    storage,
    logs,
    request: (opts) => app.inject(opts),
    close: async () => {
      await app.close();
      await storage.close();
    },
  };
}

export const fhirJson = { 'content-type': 'application/fhir+json' };

export function minimalPatient(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { resourceType: 'Patient', gender: 'female', birthDate: '1970-01-01', ...extra };
}
