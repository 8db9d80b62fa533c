/**
 * Hostile and malformed requests: every one answered with an
 * OperationOutcome and the right status, none stalling the server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import t from 'tap';
import { isTransientStorageError } from '../../src/storage/transient';
import { fhirJson, minimalPatient, startHarness, type Harness } from './harness';

async function listen(h: Harness): Promise<number> {
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Sends raw bytes and reads everything until the server closes (or a bounded wait ends). */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.end(bytes);
  });
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
const bodyOf = (raw: string) => raw.slice(raw.indexOf('\r\n\r\n') + 4);

const parameters = (...parameter: unknown[]) => ({ resourceType: 'Parameters', parameter });
const post = (h: Harness, url: string, payload: unknown) => h.request({ method: 'POST', url, headers: fhirJson, payload: payload as Record<string, unknown> });

t.test('operation parameters are checked against their declared types: 400 naming the parameter', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const cases: Array<[string, string, unknown, number]> = [
    ['$match count -1', '/fhir/Patient/$match', parameters({ name: 'resource', resource: minimalPatient() }, { name: 'count', valueInteger: -1 }), 400],
    ['$match without resource', '/fhir/Patient/$match', parameters(), 400],
    ['$match unknown parameter', '/fhir/Patient/$match', parameters({ name: 'resource', resource: minimalPatient() }, { name: 'bogus', valueString: 'x' }), 400],
    ['$match parameter is not an array', '/fhir/Patient/$match', { resourceType: 'Parameters', parameter: 7 }, 400],
    ['$match null entry', '/fhir/Patient/$match', parameters(null), 400],
    ['$match identifier system an object', '/fhir/Patient/$match', parameters({ name: 'resource', resource: minimalPatient({ identifier: [{ system: { a: 1 }, value: 'x' }] }) }), 422],
    ['$match identifier system null', '/fhir/Patient/$match', parameters({ name: 'resource', resource: minimalPatient({ identifier: [{ system: null, value: 'x' }] }) }), 422],
    ['$match given not an array', '/fhir/Patient/$match', parameters({ name: 'resource', resource: minimalPatient({ name: [{ family: 'A', given: 'Anna' }] }) }), 422],
    ['$evaluate parameter -1', '/fhir/Consent/$evaluate', { resourceType: 'Parameters', parameter: -1 }, 400],
    ['$evaluate null entries', '/fhir/Consent/$evaluate', parameters(null, null), 400],
    ['$evaluate actor not a Reference', '/fhir/Consent/$evaluate', parameters({ name: 'actor', valueReference: 'Patient/a' }, { name: 'resource', valueReference: { reference: 'Patient/a' } }), 400],
    ['$evaluate reference a number', '/fhir/Consent/$evaluate', parameters({ name: 'actor', valueReference: { reference: 5 } }, { name: 'resource', valueReference: { reference: 'Patient/a' } }), 400],
  ];
  for (const [what, url, body, status] of cases) {
    const res = await post(h, url, body);
    t.equal(res.statusCode, status, `${what}: ${status}`);
    t.equal(res.json().resourceType, 'OperationOutcome', `${what}: an OperationOutcome`);
    t.match(res.headers['content-type'], /application\/fhir\+json/, `${what}: FHIR JSON`);
  }
  const named = await post(h, '/fhir/Patient/$match', parameters({ name: 'resource', resource: minimalPatient() }, { name: 'count', valueInteger: -1 }));
  t.match(named.json().issue[0].diagnostics, /"count"/, 'the diagnostics name the parameter');
});

t.test('bodies nested deeper than 64 levels are refused before anything walks them', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  let item: Record<string, unknown> = { linkId: 'leaf', type: 'display', text: 'x' };
  for (let i = 0; i < 2000; i++) item = { linkId: `l${i}`, type: 'group', item: [item] };
  const questionnaire = await post(h, '/fhir/Questionnaire', { resourceType: 'Questionnaire', status: 'active', item: [item] });
  t.equal(questionnaire.statusCode, 400, 'deeply nested Questionnaire items: 400');
  t.match(questionnaire.json().issue[0].diagnostics, /64 levels/);
  let identifier: Record<string, unknown> = { value: 'x' };
  for (let i = 0; i < 2000; i++) identifier = { value: `v${i}`, assigner: { identifier } };
  const assigner = await post(h, '/fhir/Patient', minimalPatient({ identifier: [identifier] }));
  t.equal(assigner.statusCode, 400, 'an Identifier.assigner chain: 400');
  t.equal(assigner.json().resourceType, 'OperationOutcome');
  const extreme = await h.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: `${'['.repeat(500_000)}${']'.repeat(500_000)}` });
  t.equal(extreme.statusCode, 400, 'nesting the JSON parser itself gives up on: 400');
  const shallow = await post(h, '/fhir/Patient', minimalPatient({ identifier: [{ value: 'a', assigner: { identifier: { value: 'b' } } }] }));
  t.equal(shallow.statusCode, 201, 'ordinary nesting is accepted');
});

t.test('method not allowed: 405 with Allow, and a non-id segment is never taken as an id', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const cases: Array<[string, string, RegExp]> = [
    ['DELETE', '/fhir/metadata', /GET/],
    ['POST', '/fhir/metadata', /GET/],
    ['PUT', '/fhir/metadata', /GET/],
    ['DELETE', '/fhir/Patient/_history', /GET/],
    ['PUT', '/fhir/Patient/_history', /GET/],
    ['DELETE', '/fhir/_history', /GET/],
    ['DELETE', '/fhir/Patient/$match', /POST/],
    ['GET', '/fhir/Patient/_search', /POST/],
  ];
  for (const [method, url, allow] of cases) {
    const withBody = method === 'POST' || method === 'PUT';
    const res = await h.request({ method: method as 'GET', url, ...(withBody ? { headers: fhirJson, payload: minimalPatient({ id: '_history' }) } : {}) });
    t.equal(res.statusCode, 405, `${method} ${url}: 405`);
    t.match(res.headers.allow, allow, `${method} ${url}: Allow`);
    t.equal(res.json().resourceType, 'OperationOutcome', `${method} ${url}: an OperationOutcome`);
  }
  const invalidId = await h.request({ method: 'DELETE', url: '/fhir/Patient/$nothing' });
  t.equal(invalidId.statusCode, 400, 'DELETE of a segment that is not an id: 400');
});

t.test('a busy database answers 503 with Retry-After, never 500', async (t) => {
  t.ok(isTransientStorageError(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })), 'SQLITE_BUSY');
  t.ok(isTransientStorageError({ name: 'MongoServerError', code: 112, hasErrorLabel: () => false }), 'MongoDB WriteConflict');
  t.ok(isTransientStorageError({ name: 'MongoServerError', code: 1, hasErrorLabel: (l: string) => l === 'TransientTransactionError' }), 'MongoDB transient label');
  t.notOk(isTransientStorageError(new Error('boom')), 'anything else is not');

  const h = await startHarness();
  t.teardown(h.close);
  const original = h.storage.search.bind(h.storage);
  for (const error of [
    Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }),
    Object.assign(new Error('WriteConflict'), { name: 'MongoServerError', code: 112, hasErrorLabel: () => false }),
  ]) {
    h.storage.search = async () => {
      throw error;
    };
    const res = await h.request({ method: 'GET', url: '/fhir/Patient' });
    t.equal(res.statusCode, 503, `${error.message}: 503`);
    t.equal(res.headers['retry-after'], '1', 'with Retry-After');
    t.equal(res.json().issue[0].code, 'transient');
  }
  h.storage.search = original;
});

t.test('errors raised before routing or by the HTTP parser are OperationOutcomes; HEAD answers have no body', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const port = await listen(h);

  const badUrl = await rawExchange(port, 'GET /fhir/Patient/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(badUrl), 400, 'bad percent-encoding: 400');
  t.match(badUrl, /content-type: application\/fhir\+json/i);
  t.equal(JSON.parse(bodyOf(badUrl)).resourceType, 'OperationOutcome');

  const big = 'x'.repeat(20_000);
  const tooLarge = await rawExchange(port, `GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`);
  t.equal(statusOf(tooLarge), 431, 'headers too large: 431');
  t.match(tooLarge, /content-type: application\/fhir\+json/i);
  t.equal(JSON.parse(bodyOf(tooLarge)).resourceType, 'OperationOutcome');

  const head = await rawExchange(port, `HEAD /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`);
  t.equal(statusOf(head), 431, 'HEAD with headers too large: 431');
  t.equal(bodyOf(head), '', 'and no body');
  t.match(head, /content-length: 0/i);

  const badLength = await rawExchange(port, 'POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: abc\r\n\r\n{}');
  t.equal(statusOf(badLength), 400, 'bad Content-Length: 400');
  t.equal(JSON.parse(bodyOf(badLength)).resourceType, 'OperationOutcome');

  const badHeader = await rawExchange(port, 'GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
  t.equal(statusOf(badHeader), 400, 'malformed header line: 400');
  t.equal(JSON.parse(bodyOf(badHeader)).resourceType, 'OperationOutcome');

  const headNotFound = await rawExchange(port, 'HEAD /fhir/Spaceship/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(headNotFound), 404, 'HEAD of an unknown type: 404');
  t.equal(bodyOf(headNotFound), '', 'and no body');
});

t.test('a hostile $match is answered at once and does not hold up /metadata', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const port = await listen(h);
  const stored = await h.request({ method: 'PUT', url: '/fhir/Patient/long', headers: fhirJson, payload: minimalPatient({ id: 'long', name: [{ family: 'S'.repeat(100_000), given: ['Anna'] }] }) });
  t.equal(stored.statusCode, 201, 'a Patient with a 100,000-character family name is stored');

  const send = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: string; at: number }>((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: text ? { ...fhirJson, 'content-length': Buffer.byteLength(text) } : {} }, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, at: performance.now() }));
      });
      req.on('error', reject);
      req.end(text);
    });

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const hostile = parameters({ name: 'resource', resource: minimalPatient({ name: [{ family: 'S'.repeat(300_000), given: ['Anna'] }] }) });
  const [matched, metadata] = await Promise.all([send('POST', '/fhir/Patient/$match', hostile), send('GET', '/fhir/metadata')]);
  t.equal(matched.status, 400, 'a family name over the limit: 400');
  t.match(JSON.parse(matched.body).issue[0].diagnostics, /at most 200 characters/);
  t.equal(metadata.status, 200, '/metadata answers alongside');

  // Within the limit, against the stored 100,000-character name: compared on a bounded prefix.
  const near = parameters({ name: 'resource', resource: minimalPatient({ name: [{ family: 'S'.repeat(200), given: ['Anna'] }] }) });
  const bounded = await send('POST', '/fhir/Patient/$match', near);
  delay.disable();
  t.equal(bounded.status, 200, 'a long name within the limit is matched');
  t.ok(JSON.parse(bounded.body).entry.some((e: { resource: { id: string } }) => e.resource.id === 'long'), 'and finds the stored one');
  // Unbounded, the comparison holds the event loop for seconds; generous so that a busy machine does not flake.
  t.ok(delay.max / 1e6 < 1500, `the event loop was never blocked for long (max ${Math.round(delay.max / 1e6)} ms)`);
});

t.test('a body over MAX_BODY_BYTES is answered 413 every time, never a reset', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const port = await listen(h);
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const size = 11 * chunk.length;
  const once = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/fhir', headers: { ...fhirJson, 'content-length': size } }, (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      });
      req.on('error', reject);
      let sent = 0;
      const write = () => {
        while (sent < 11) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });
  let outcomes = 0;
  for (let i = 0; i < 20; i++) {
    const res = await once();
    if (res.status === 413 && JSON.parse(res.body).resourceType === 'OperationOutcome') outcomes++;
  }
  t.equal(outcomes, 20, '20 requests of 11 MiB: 20 answers 413 with an OperationOutcome');

  // A raw client that writes the whole body before it reads: it must never meet a reset.
  const rawOnce = () =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.write(`POST /fhir HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: ${size}\r\n\r\n`);
      for (let i = 0; i < 11; i++) socket.write(chunk);
      socket.end();
    });
  let raw413 = 0;
  for (let i = 0; i < 20; i++) {
    const answer = await rawOnce().catch((error: Error) => `reset: ${error.message}`);
    if (statusOf(answer) === 413 && JSON.parse(bodyOf(answer)).resourceType === 'OperationOutcome') raw413++;
  }
  t.equal(raw413, 20, '20 raw sends of 11 MiB: 20 answers 413, no reset');
});

t.test('a transaction of many searches lets other requests through while it runs', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const port = await listen(h);
  const entry: unknown[] = [{ resource: minimalPatient({ name: [{ family: 'Lee' }] }), request: { method: 'POST', url: 'Patient' } }];
  for (let i = 0; i < 1500; i++) entry.push({ request: { method: 'GET', url: `Patient?family=Lee${i}` } });
  const send = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; at: number }>((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: text ? { ...fhirJson, 'content-length': Buffer.byteLength(text) } : {} }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, at: performance.now() }));
      });
      req.on('error', reject);
      req.end(text);
    });
  const transaction = send('POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry });
  // Sent once the transaction is running: its answer must not wait for the transaction's end.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const metadata = await send('GET', '/fhir/metadata');
  const done = await transaction;
  t.equal(done.status, 200, 'the transaction commits');
  t.equal(metadata.status, 200, '/metadata answers');
  t.ok(metadata.at < done.at, '/metadata answered before the transaction finished');
});

t.test('SQLite locked by another connection: a write answers 503 with Retry-After, not 500', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-busy-'));
  const path = join(dir, 'busy.db');
  const h = await startHarness({ sqlitePath: path });
  t.teardown(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Another process's writer, as a second server or a maintenance script on the same file would be.
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  try {
    const res = await h.request({ method: 'PUT', url: '/fhir/Patient/busy', headers: fhirJson, payload: minimalPatient({ id: 'busy' }) });
    t.equal(res.statusCode, 503, 'after the busy timeout: 503');
    t.equal(res.headers['retry-after'], '1', 'with Retry-After');
    t.equal(res.json().resourceType, 'OperationOutcome');
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  const again = await h.request({ method: 'PUT', url: '/fhir/Patient/busy', headers: fhirJson, payload: minimalPatient({ id: 'busy' }) });
  t.equal(again.statusCode, 201, 'the same write succeeds once the lock is gone: nothing was half-written');
});
