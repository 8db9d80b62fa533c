/**
 * An export job's life: the snapshot as of transactionTime, `_since` with
 * deletions, the limits (429), polling, cancel and expiry with a clock the
 * test controls.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { systemContext } from '../../src/context';
import { ASYNC, BASE_URL, exportAll, idsOf, load, pathOf, poll, startExportHarness } from './helpers';

const patients = (count: number) => Array.from({ length: count }, (_, i) => ({ resourceType: 'Patient', id: `p${String(i).padStart(3, '0')}`, gender: 'female' }));

t.test('one snapshot as of transactionTime: later writes do not leak in, an update exports the old version', async (t) => {
  // One resource per chunk: the job is still running while the writes below commit.
  const h = await startExportHarness(t, { chunkSize: 1 });
  await load(h.storage, patients(150));
  const kickoff = await h.send({ url: '/fhir/$export?_type=Patient', headers: ASYNC });
  t.equal(kickoff.statusCode, 202);
  const ctx = systemContext(BASE_URL);
  await h.storage.update(ctx, { resourceType: 'Patient', id: 'p149', gender: 'male' } as never);
  await h.storage.update(ctx, { resourceType: 'Patient', id: 'p000', gender: 'male' } as never);
  await h.storage.create(ctx, { resourceType: 'Patient', id: 'late', gender: 'other' } as never);
  const during = await h.send({ url: pathOf(String(kickoff.headers['content-location'])) });
  t.equal(during.statusCode, 202, 'the writes happened while the job ran');
  t.match(String(during.headers['x-progress']), /resources exported/, 'progress per chunk');
  t.ok(Number(during.headers['retry-after']) >= 0);
  const done = await poll(h.send, String(kickoff.headers['content-location']));
  const manifest = JSON.parse(done.body) as { output: Array<{ url: string }> };
  const lines = (await Promise.all(manifest.output.map(async (o) => (await h.send({ url: pathOf(o.url) })).body))).join('').split('\n').filter(Boolean);
  const exported = lines.map((line) => JSON.parse(line) as { id: string; gender: string });
  t.equal(exported.length, 150, 'the 150 patients of the snapshot, each once');
  t.notOk(exported.some((p) => p.id === 'late'), 'a create after kick-off does not appear');
  t.equal(exported.find((p) => p.id === 'p149')?.gender, 'female', 'an update during the job: the version as of transactionTime');
  t.equal(exported.find((p) => p.id === 'p000')?.gender, 'female');
});

t.test('snapshot: a resource deleted, or updated out of the criteria, after kick-off is exported as it was then', async (t) => {
  const h = await startExportHarness(t, { chunkSize: 1 });
  await load(h.storage, patients(150));
  const obs = (id: string, status: string) => ({ resourceType: 'Observation', id, status, code: { text: id }, subject: { reference: 'Patient/p001' } });
  await load(h.storage, [obs('o-final', 'final'), obs('o-deleted', 'final'), obs('o-prelim', 'preliminary')]);
  const final = encodeURIComponent('Observation?status=final');
  const kickoff = await h.send({ url: `/fhir/$export?_type=Patient,Observation&_typeFilter=${final}`, headers: ASYNC });
  // After the kick-off: the storage stamps versions with the context's clock.
  const ctx = systemContext(BASE_URL);
  await h.storage.delete(ctx, 'Patient', 'p149');
  await h.storage.delete(ctx, 'Observation', 'o-deleted');
  await h.storage.update(ctx, obs('o-final', 'amended') as never);
  await h.storage.update(ctx, obs('o-prelim', 'final') as never);
  t.equal((await h.send({ url: pathOf(String(kickoff.headers['content-location'])) })).statusCode, 202, 'the changes happened while the job ran');
  const done = await poll(h.send, String(kickoff.headers['content-location']));
  const manifest = JSON.parse(done.body) as { output: Array<{ type: string; url: string }>; error: unknown[] };
  const files: Record<string, Array<{ id: string; status?: string }>> = {};
  for (const o of manifest.output) (files[o.type] ??= []).push(...(await h.send({ url: pathOf(o.url) })).body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string }));
  t.equal(files.Patient?.length, 150, 'the Patient deleted after kick-off is in the snapshot');
  t.ok(files.Patient?.some((p) => p.id === 'p149'));
  t.same(files.Observation?.map((o) => o.id).sort(), ['o-deleted', 'o-final'], 'the deleted one, and the one final then (amended now); not the one final only now');
  t.equal(files.Observation?.find((o) => o.id === 'o-final')?.status, 'final', 'in its version as of transactionTime');
  t.same(manifest.error, [], 'every change was decided');
});

t.test('snapshot: a change during the job that the in-memory matcher cannot decide is left out and reported', async (t) => {
  const h = await startExportHarness(t, { chunkSize: 1 });
  await load(h.storage, patients(150));
  const dated = (id: string, status: string) => ({ resourceType: 'Observation', id, status, code: { text: id }, effectiveDateTime: '2021-05-01', subject: { reference: 'Patient/p001' } });
  await load(h.storage, [dated('o-kept', 'final'), dated('o-changed', 'final')]);
  const filter = encodeURIComponent('Observation?date=ge2020-01-01');
  const kickoff = await h.send({ url: `/fhir/$export?_type=Patient,Observation&_typeFilter=${filter}`, headers: ASYNC });
  await h.storage.update(systemContext(BASE_URL), dated('o-changed', 'amended') as never);
  const done = await poll(h.send, String(kickoff.headers['content-location']));
  const manifest = JSON.parse(done.body) as { output: Array<{ type: string; url: string }>; error: Array<{ url: string }> };
  const observations = manifest.output.filter((o) => o.type === 'Observation');
  const text = (await Promise.all(observations.map(async (o) => (await h.send({ url: pathOf(o.url) })).body))).join('');
  t.match(text, /"id":"o-kept"/);
  t.notMatch(text, /"id":"o-changed"/, 'a date criterion is not decided in memory: never exported unchecked');
  t.equal(manifest.error.length, 1);
  t.match((await h.send({ url: pathOf(manifest.error[0]?.url ?? '') })).body, /1 resources changed during the export could not be checked/);
});

t.test('snapshot at the Patient level: a patient deleted after kick-off, and its data, are exported', async (t) => {
  const h = await startExportHarness(t, { chunkSize: 1 });
  await load(h.storage, patients(100));
  await load(h.storage, [{ resourceType: 'Observation', id: 'o99', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p099' } }]);
  const kickoff = await h.send({ url: '/fhir/Patient/$export?_type=Patient,Observation', headers: ASYNC });
  const ctx = systemContext(BASE_URL);
  await h.storage.delete(ctx, 'Observation', 'o99');
  await h.storage.delete(ctx, 'Patient', 'p099');
  t.equal((await h.send({ url: pathOf(String(kickoff.headers['content-location'])) })).statusCode, 202, 'the deletes happened while the job ran');
  const done = await poll(h.send, String(kickoff.headers['content-location']));
  const manifest = JSON.parse(done.body) as { output: Array<{ type: string; url: string }> };
  const text = (await Promise.all(manifest.output.map(async (o) => (await h.send({ url: pathOf(o.url) })).body))).join('');
  t.match(text, /"id":"p099"/);
  t.match(text, /"id":"o99"/);
});

t.test('_since: changed resources, and those deleted since then in `deleted` as a Bundle of DELETE requests', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, patients(4));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const since = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await load(h.storage, [{ resourceType: 'Patient', id: 'p001', gender: 'male' }]);
  await h.storage.delete(systemContext(BASE_URL), 'Patient', 'p002');
  const { manifest, files } = await exportAll(h.send, { url: `/fhir/$export?_type=Patient&_since=${encodeURIComponent(since)}` });
  t.same(idsOf(files.Patient), ['p001']);
  t.equal(manifest.deleted.length, 1);
  t.equal(manifest.deleted[0]?.type, 'Bundle');
  t.same(files.Bundle, [{ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: 'Patient/p002' } }] }]);
  const without = await exportAll(h.send, { url: '/fhir/$export?_type=Patient' });
  t.same(without.manifest.deleted, [], 'no _since: no deletions listed');
});

t.test('limits: EXPORT_MAX_JOBS_PER_CLIENT and EXPORT_MAX_JOBS answer 429 with Retry-After, counted exactly under parallel kick-offs', async (t) => {
  const h = await startExportHarness(t, { maxJobsPerClient: 3, maxJobs: 5, chunkSize: 1 });
  await load(h.storage, patients(200));
  const answers = await Promise.all(Array.from({ length: 8 }, () => h.send({ url: '/fhir/$export?_type=Patient', headers: ASYNC })));
  const codes = answers.map((a) => a.statusCode);
  t.equal(codes.filter((c) => c === 202).length, 3, 'exactly the per-client limit started');
  t.equal(codes.filter((c) => c === 429).length, 5);
  t.ok(answers.filter((a) => a.statusCode === 429).every((a) => Number(a.headers['retry-after']) > 0), 'with Retry-After');
  for (const a of answers.filter((a) => a.statusCode === 202)) t.equal((await h.send({ method: 'DELETE', url: pathOf(String(a.headers['content-location'])) })).statusCode, 202);
});

t.test('the server-wide limit', async (t) => {
  const h = await startExportHarness(t, { maxJobsPerClient: 10, maxJobs: 2, chunkSize: 1 });
  await load(h.storage, patients(200));
  const answers = await Promise.all(Array.from({ length: 4 }, () => h.send({ url: '/fhir/$export?_type=Patient', headers: ASYNC })));
  t.same(answers.map((a) => a.statusCode).sort(), [202, 202, 429, 429]);
});

t.test('polling faster than Retry-After asks may get 429', async (t) => {
  const h = await startExportHarness(t, { pollSeconds: 30, chunkSize: 1 });
  await load(h.storage, patients(200));
  const url = pathOf(String((await h.send({ url: '/fhir/$export?_type=Patient', headers: ASYNC })).headers['content-location']));
  const first = await h.send({ url });
  t.equal(first.statusCode, 202);
  t.equal(first.headers['retry-after'], '30');
  const second = await h.send({ url });
  t.equal(second.statusCode, 429);
  t.equal(second.headers['retry-after'], '30');
});

t.test('DELETE cancels a running job and deletes a finished one: 202, then 404, files gone at once', async (t) => {
  const h = await startExportHarness(t, { chunkSize: 1 });
  await load(h.storage, patients(200));
  const running = pathOf(String((await h.send({ url: '/fhir/$export?_type=Patient', headers: ASYNC })).headers['content-location']));
  t.equal((await h.send({ method: 'DELETE', url: running })).statusCode, 202);
  t.equal((await h.send({ url: running })).statusCode, 404);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.notOk(existsSync(join(h.dir, running.split('/').pop() ?? '')), 'the cancelled job’s folder is removed');

  const { manifest, statusUrl } = await exportAll(h.send, { url: '/fhir/$export?_type=Patient' });
  const id = statusUrl.split('/').pop() ?? '';
  t.ok(readdirSync(join(h.dir, id)).length > 0);
  t.equal((await h.send({ method: 'DELETE', url: pathOf(statusUrl) })).statusCode, 202);
  t.notOk(existsSync(join(h.dir, id)), 'files removed at once');
  t.equal((await h.send({ url: pathOf(statusUrl) })).statusCode, 404);
  t.equal((await h.send({ url: pathOf(manifest.output[0]?.url ?? '') })).statusCode, 404);
});

t.test('jobs and files expire EXPORT_RETENTION_HOURS after completion (fractions allowed); Expires says when', async (t) => {
  let now = Date.now();
  const h = await startExportHarness(t, { retentionHours: 0.5, clock: () => new Date(now) });
  await load(h.storage, patients(2));
  const { manifest, statusUrl } = await exportAll(h.send, { url: '/fhir/$export?_type=Patient' });
  const status = await h.send({ url: pathOf(statusUrl) });
  t.equal(Date.parse(String(status.headers.expires)), Math.floor((now + 30 * 60_000) / 1000) * 1000, 'half an hour after completion');
  now += 29 * 60_000;
  t.equal((await h.send({ url: pathOf(manifest.output[0]?.url ?? '') })).statusCode, 200, 'still there before');
  now += 2 * 60_000;
  t.equal((await h.send({ url: pathOf(manifest.output[0]?.url ?? '') })).statusCode, 404, 'gone after');
  t.equal((await h.send({ url: pathOf(statusUrl) })).statusCode, 404);
  t.notOk(existsSync(join(h.dir, statusUrl.split('/').pop() ?? '')), 'and deleted from disk');
});

t.test('a job that fails answers 500 with an OperationOutcome that names no data', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, patients(2));
  // The files' folder cannot be created (a file stands where it should be): the job fails.
  const blocked = join(h.dir, 'blocked');
  writeFileSync(blocked, 'not a folder');
  const failing = await startExportHarness(t, { dir: blocked });
  await load(failing.storage, patients(2));
  const kickoff = await failing.send({ url: '/fhir/$export?_type=Patient', headers: ASYNC });
  t.equal(kickoff.statusCode, 202);
  const done = await poll(failing.send, String(kickoff.headers['content-location']));
  t.equal(done.statusCode, 500);
  const outcome = JSON.parse(done.body) as { resourceType: string; issue: Array<{ diagnostics?: string }> };
  t.equal(outcome.resourceType, 'OperationOutcome');
  t.notMatch(done.body, /p000|p001|blocked/, 'no data and no path in the answer');
});
