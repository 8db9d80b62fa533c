import { existsSync } from 'node:fs';
import t from 'tap';
import { startHarness } from '../http/harness';
import { countOf } from './helpers';
import { bundleFiles, expectedCounts, loadBundles, readBundle, sharedDir } from './synthea';

// The 40 shared bundles sit beside the checkout; a plain clone does not have them.
// Loading all of them takes minutes on a busy machine: more than tap's default file timeout.
t.setTimeout(900_000);
if (!existsSync(sharedDir)) {
  t.skip(`every Synthea bundle loads: ${sharedDir} is absent`, () => {});
} else {
  t.test('every Synthea bundle in ../shared/data/synthea loads as a transaction', async (t) => {
    const h = await startHarness();
    t.teardown(h.close);
    const bundles = bundleFiles(sharedDir).map(readBundle);
    const started = performance.now();
    const responses = await loadBundles(h, bundles);
    const seconds = (performance.now() - started) / 1000;
    const failed = responses.map((r, i) => [i, r.statusCode] as const).filter(([, status]) => status !== 200);
    t.same(failed, [], `all ${bundles.length} bundles answered 200`);
    const counts = expectedCounts(bundles);
    for (const [type, count] of Object.entries(counts)) t.equal(await countOf(h, type), count, `${count} ${type}`);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    t.comment(`${total} resources in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} resources/s, in-process inject, in-memory SQLite)`);
    const patients = (await h.request({ method: 'GET', url: '/fhir/Patient?_count=1' })).json();
    const patientId = patients.entry[0].resource.id;
    const bundle = bundles.find((b) => b.entry.length > 0)!;
    t.ok(bundle, 'bundles have entries');
    const encounters = (await h.request({ method: 'GET', url: `/fhir/Encounter?_count=1000` })).json();
    t.ok(encounters.entry.some((e: { resource: { subject: { reference: string } } }) => e.resource.subject.reference === `Patient/${patientId}`), 'a patient has its encounters');
  });
}
