/**
 * A server with subscriptions and a real HTTP receiver on loopback (the
 * receiver's prefix allowlisted), for the subscription tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildServer } from '../../src/http/server';
import { installWebSocket } from '../../src/http/websocket';
import type { AccessPartSource } from '../../src/security/access-filter';
import { createAuth, type Auth, type AuthOn } from '../../src/security/auth/auth-service';
import { signAccessToken } from '../../src/security/auth/token-endpoint';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import type { Storage } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { BindingTokens, ownershipAccessSource, startSubscriptions, WebSocketChannel, type SubscriptionEngine } from '../../src/subscriptions';
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
  /** The POSTs answered 2xx to a client still waiting for the answer (delivered). */
  received: Received[];
  /** Every POST as it arrived, before any answer (attempts, delivered or not). */
  arrived: Received[];
  status: (request: Received) => number;
  /** Awaited before answering: a test delays or holds a POST with it (none by default). */
  hold: (request: Received) => Promise<void> | void;
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
    arrived: [],
    status: () => 200,
    hold: () => {},
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
      receiver.arrived.push(entry);
      for (const waiter of [...waiters]) waiter();
      void Promise.resolve(receiver.hold(entry)).then(() => {
        // The sender gave up (its timeout) while the POST was held: nothing is delivered.
        if (request.socket.destroyed) return;
        const status = receiver.status(entry);
        if (status >= 200 && status < 300) received.push(entry);
        response.writeHead(status).end();
        for (const waiter of [...waiters]) waiter();
      });
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
  /** With `websocket`: the server's WebSocket endpoint, listening on loopback. */
  websocketUrl?: string;
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
  /** A rest-hook POST's time limit without backport-timeout (default 2000 ms). */
  timeoutMs?: number;
  /** Defaults to the receiver's origin. */
  allowlist?: string[];
  /** Serve the WebSocket endpoint on a loopback port; binding tokens last `tokenSeconds` (default 60). */
  websocket?: { tokenSeconds?: number };
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const receiver = await startReceiver();
  const storage = await createSqliteStorage({ path: options.sqlitePath ?? ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  const allowlist = options.allowlist ?? [new URL(receiver.url).origin + '/'];
  const accessSources = [...(options.accessSources ?? []), ...(options.consent ? [options.consent(storage)] : []), ownershipAccessSource];
  const wsBindings = options.websocket ? new BindingTokens(options.websocket.tokenSeconds ?? 60) : undefined;
  const websocket = wsBindings ? new WebSocketChannel(wsBindings) : undefined;
  const logStream = new Writable({ write: (_chunk, _encoding, done) => done() });
  const app = buildServer({
    config: { baseUrl: BASE_URL, basePath: '/fhir', maxBodyBytes: 10 * 1024 * 1024, logLevel: 'silent' },
    services: { storage, validator, referentialIntegrity: { mode: 'off', exemptTypes: [] }, subscriptionEndpoints: { allowlist }, ...(wsBindings ? { wsBindings } : {}) },
    logStream,
    auth: options.auth ?? { mode: 'off' },
    accessSources,
  });
  await app.ready();
  const engine = await startSubscriptions({
    storage,
    baseUrl: BASE_URL,
    config: { endpointAllowlist: allowlist, maxAttempts: options.maxAttempts ?? 3, retryBaseMs: options.retryBaseMs ?? 20, timeoutMs: options.timeoutMs ?? 2000 },
    accessSources,
    log: () => {},
    ...(websocket ? { websocket } : {}),
  });
  const auth = options.auth ?? { mode: 'off' as const };
  const endpoint = websocket ? installWebSocket(app, { auth, storage, basePath: '/fhir', channel: websocket }) : undefined;
  let websocketUrl: string | undefined;
  if (endpoint) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    websocketUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/fhir/ws`;
  }
  return {
    app,
    storage,
    engine,
    receiver,
    ...(websocketUrl ? { websocketUrl } : {}),
    request: (opts) => app.inject(opts),
    close: async () => {
      await endpoint?.close();
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

/** Creates a subscription and waits until it is active (its handshake answered); its id. */
export async function subscribe(world: World, body: Record<string, unknown>): Promise<string> {
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: body });
  if (created.statusCode !== 201) throw new Error(created.body);
  const id = created.json().id as string;
  await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'active');
  return id;
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

/** A world with SMART security on (real signed tokens) and the consent layer, with Practitioners gp and other and Patient p (gp's). */
export async function startSecureWorld(t: { teardown(fn: () => unknown): void }, options: Omit<WorldOptions, 'auth' | 'consent'> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'concord-subs-'));
  const auth = (await createAuth({ mode: 'on', baseUrl: BASE_URL, sqlitePath: join(dir, 'auth.db') })) as AuthOn;
  const world = await startWorld({ auth, consent: (storage) => consentAccessSource(storage, BASE_URL), ...options });
  t.teardown(async () => {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const origin = new URL(BASE_URL).origin;
  const token = (claims: { scope: string; fhirUser?: string; sub?: string }, seconds = 300) =>
    signAccessToken(auth.tokenIssuer.signingKey, origin, BASE_URL, { sub: claims.fhirUser ?? 'test', ...claims }, seconds);
  const as = (bearer: string, method: string, url: string, payload?: unknown) =>
    world.request({ method: method as 'GET', url, headers: { authorization: `Bearer ${bearer}`, ...(payload ? { 'content-type': 'application/fhir+json' } : {}) }, ...(payload ? { payload: payload as Record<string, unknown> } : {}) });
  const ctx = systemContext(BASE_URL);
  for (const resource of [
    { resourceType: 'Practitioner', id: 'gp' },
    { resourceType: 'Practitioner', id: 'other' },
    { resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'Practitioner/gp' }] },
  ]) await world.storage.create(ctx, resource as AnyResource);
  return { world, token, as, auth };
}

/** A Consent of Patient/p denying everything (the consent layer then hides p's data from everyone). */
export const denyAll = {
  resourceType: 'Consent',
  id: 'deny',
  status: 'active',
  patient: { reference: 'Patient/p' },
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  dateTime: '2024-01-01',
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision: { type: 'deny' },
};

/** An Encounter of Patient/p. */
export const encounter = (id: string) => ({ resourceType: 'Encounter', id, status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p' } });

/** The AuditEvents of the deliveries of a subscription (those naming its event number). */
export async function auditsOf(world: World, subscriptionId: string) {
  const page = await world.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [{ code: '_id', descending: false, type: 'token' }], count: 100, offset: 0, total: 'none' });
  return page.records
    .map((record) => record.resource as unknown as { outcome: string; subtype: Array<{ code: string }>; agent: Array<{ who: { reference?: string } }>; entity?: Array<{ what: { reference: string }; detail?: Array<{ valueString: string }> }> })
    .filter((event) => event.entity?.some((entity) => entity.what.reference === `Subscription/${subscriptionId}` && entity.detail !== undefined));
}
