import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/http/server';
import type { AccessPartSource } from '../../src/security/access-filter';
import type { Auth } from '../../src/security/auth/auth-service';
import { createIndexer } from '../../src/search/indexer';
import type { SchedulingOptions } from '../../src/scheduling/install';
import type { Storage } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import type { ClaimsConfig, ReferentialIntegrity } from '../../src/config';
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
  /** The booking rule's clock and hold settings (src/scheduling/install.ts). */
  scheduling?: SchedulingOptions;
  /** `CLAIMS_AUTO_ADJUDICATE`: off unless a test turns it on. */
  claims?: ClaimsConfig;
  /** Another BASE_URL (a test that listens on a real port and needs its URLs to match). */
  baseUrl?: string;
  /** Bulk Data export's job store and settings (src/http/server.ts). */
  exports?: ServerOptions['exports'];
}

/** A server on an in-memory SQLite database, driven with inject (real routing, parsing and hooks). */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const baseUrl = options.baseUrl ?? BASE_URL;
  // A file gets the access-log worker thread, as the server's openStorage gives it.
  const storage = await createSqliteStorage({
    path: options.sqlitePath ?? ':memory:',
    indexer: createIndexer({ baseUrl }),
    ...(options.sqlitePath ? { appendThread: { baseUrl } } : {}),
  });
  const logs: Array<Record<string, unknown>> = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const app = buildServer({
    config: { baseUrl, basePath: '/fhir', maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024, logLevel: 'info' },
    services: { storage, validator, ...(options.referentialIntegrity && { referentialIntegrity: options.referentialIntegrity }), ...(options.claims && { claims: options.claims }) },
    logStream,
    auth: options.auth ?? { mode: 'off' },
    accessSources: options.accessSources,
    ...(options.scheduling && { scheduling: options.scheduling }),
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
