/**
 * A server with subscriptions and a real HTTP receiver on loopback (the
 * receiver's prefix allowlisted), for the subscription tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildServer } from '../../src/http/server';
import type { AccessPartSource } from '../../src/security/access-filter';
import type { Auth } from '../../src/security/auth/auth-service';
import { createIndexer } from '../../src/search/indexer';
import type { Storage } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { ownershipAccessSource, startSubscriptions, type SubscriptionEngine } from '../../src/subscriptions';
import { createValidator } from '../../src/validation/validator';

export const BASE_URL = 'http://localhost:8080/fhir';
const validator = createValidator();

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A rest-hook receiver: records every POST; answers `status()` (200 unless a test says otherwise). */
export interface Receiver {
  url: string;
  received: Received[];
  status: (request: Received) => number;
  /** Resolves once `count` POSTs have arrived (fails the test after `ms`). */
  waitFor(count: number, ms?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const receiver: Receiver = {
    url: '',
    received,
    status: () => 200,
    waitFor: (count, ms = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= count) {
            resolve(received.slice(0, count));
            return true;
          }
          return false;
        };
        if (check()) return;
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} notifications within ${ms} ms`)), ms);
        waiters.push(() => {
          if (check()) clearTimeout(timer);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const status = receiver.status(entry);
      if (status >= 200 && status < 300) received.push(entry);
      response.writeHead(status).end();
      for (const waiter of [...waiters]) waiter();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

export interface World {
  app: FastifyInstance;
  storage: Storage;
  engine: SubscriptionEngine;
  receiver: Receiver;
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface WorldOptions {
  auth?: Auth;
  accessSources?: readonly AccessPartSource[];
  /** Build the consent source from the storage (security tests). */
  consent?: (storage: Storage) => AccessPartSource;
  sqlitePath?: string;
  maxAttempts?: number;
  retryBaseMs?: number;
  /** Defaults to the receiver's origin. */
  allowlist?: string[];
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const receiver = await startReceiver();
  const storage = await createSqliteStorage({ path: options.sqlitePath ?? ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  const allowlist = options.allowlist ?? [new URL(receiver.url).origin + '/'];
  const accessSources = [...(options.accessSources ?? []), ...(options.consent ? [options.consent(storage)] : []), ownershipAccessSource];
  const logStream = new Writable({ write: (_chunk, _encoding, done) => done() });
  const app = buildServer({
    config: { baseUrl: BASE_URL, basePath: '/fhir', maxBodyBytes: 10 * 1024 * 1024, logLevel: 'silent' },
    services: { storage, validator, referentialIntegrity: { mode: 'off', exemptTypes: [] }, subscriptionEndpoints: { allowlist } },
    logStream,
    auth: options.auth ?? { mode: 'off' },
    accessSources,
  });
  await app.ready();
  const engine = await startSubscriptions({
    storage,
    baseUrl: BASE_URL,
    config: { endpointAllowlist: allowlist, maxAttempts: options.maxAttempts ?? 3, retryBaseMs: options.retryBaseMs ?? 20, timeoutMs: 2000 },
    accessSources,
    log: () => {},
  });
  return {
    app,
    storage,
    engine,
    receiver,
    request: (opts) => app.inject(opts),
    close: async () => {
      await engine.stop();
      await app.close();
      await storage.close();
      await receiver.close();
    },
  };
}

export const fhirJson = { 'content-type': 'application/fhir+json' };

export function r4Subscription(endpoint: string, criteria: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { resourceType: 'Subscription', status: 'requested', reason: 'test', criteria, channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' }, ...extra };
}

export const TOPIC = (code: string) => `http://concord.example.org/fhir/SubscriptionTopic/${code}`;
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';

export function backportSubscription(endpoint: string, topic: string, filters: string[], content: 'empty' | 'id-only' | 'full-resource' = 'id-only', channelExtensions: unknown[] = []): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria: TOPIC(topic),
    ...(filters.length ? { _criteria: { extension: filters.map((valueString) => ({ url: `${BACKPORT}backport-filter-criteria`, valueString })) } } : {}),
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}backport-payload-content`, valueCode: content }] },
      ...(channelExtensions.length ? { extension: channelExtensions } : {}),
    },
  };
}

/** Polls until `check` holds (subscription status changes happen beside the request path). */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > until) throw new Error(`condition not reached within ${ms} ms: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
