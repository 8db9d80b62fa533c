import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { fhirJson, startHarness, type Harness } from '../http/harness';
import { bundleOf, countOf, patient, postEntry } from './helpers';
import { bundleFiles, fixtureDir, readBundle } from './synthea';

async function listen(h: Harness): Promise<string> {
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}/fhir`;
}

const send = (url: string, bundle: unknown) =>
  fetch(url, { method: 'POST', headers: { ...fhirJson, prefer: 'return=minimal' }, body: JSON.stringify(bundle) });

t.test('racing transactions that conditionally create the same patient create exactly one', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const url = await listen(h);
  const bundle = bundleOf('transaction', [
    postEntry(patient({ identifier: [{ system: 'urn:mrn', value: 'race' }] }), 'urn:uuid:p', { ifNoneExist: 'identifier=urn:mrn|race' }),
    postEntry({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:p' } }),
  ]);
  const responses = await Promise.all(Array.from({ length: 12 }, () => send(url, bundle)));
  t.same(responses.map((r) => r.status), Array(12).fill(200), 'every transaction succeeded');
  const statuses: string[] = await Promise.all(responses.map(async (r) => ((await r.json()) as { entry: Array<{ response: { status: string } }> }).entry[0].response.status));
  t.equal(statuses.filter((s) => s.startsWith('201')).length, 1, 'one created the patient');
  t.equal(statuses.filter((s) => s.startsWith('200')).length, 11, 'the others found it');
  t.equal(await countOf(h, 'Patient'), 1, 'exactly one patient exists');
  const observations = (await h.request({ method: 'GET', url: '/fhir/Observation?_count=100' })).json().entry;
  t.equal(new Set(observations.map((e: { resource: { subject: { reference: string } } }) => e.resource.subject.reference)).size, 1, 'all twelve observations point at it');
});

t.test('disjoint transactions do not wait for each other, nor reads for them, longer than a transaction takes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-bundle-'));
  const h = await startHarness({ sqlitePath: join(dir, 'db.sqlite') });
  t.teardown(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = await listen(h);
  const big = readBundle(bundleFiles(fixtureDir)[0]);
  await h.request({ method: 'PUT', url: '/fhir/Patient/reader', headers: fhirJson, payload: patient({ id: 'reader' }) });
  t.equal((await send(url, big)).status, 200, 'warm-up load');

  const timed = async (work: () => Promise<Response>) => {
    const started = performance.now();
    const response = await work();
    return { status: response.status, ms: performance.now() - started, end: performance.now() };
  };
  const alone = await timed(() => send(url, big));
  const small = bundleOf('transaction', [postEntry(patient({ gender: 'other' }))]);
  const [bigRun, smallRun, read] = await Promise.all([
    timed(() => send(url, big)),
    new Promise<Awaited<ReturnType<typeof timed>>>((resolve) => setTimeout(() => resolve(timed(() => send(url, small))), 5)),
    new Promise<Awaited<ReturnType<typeof timed>>>((resolve) => setTimeout(() => resolve(timed(() => fetch(`${url}/Patient/reader`))), 5)),
  ]);
  t.same([bigRun.status, smallRun.status, read.status], [200, 200, 200], 'all succeed: no deadlock, no conflict');
  t.ok(smallRun.ms < alone.ms * 2 + 250, `the small transaction waited at most about one big transaction (${Math.round(smallRun.ms)} ms; the big one alone takes ${Math.round(alone.ms)} ms)`);
  t.ok(read.ms < alone.ms + 250, `a read during it waited at most about one big transaction (${Math.round(read.ms)} ms)`);
});
