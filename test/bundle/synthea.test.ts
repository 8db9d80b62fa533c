import t from 'tap';
import { startHarness } from '../http/harness';
import { countOf } from './helpers';
import { bundleFiles, expectedCounts, fixtureDir, loadBundles, readBundle } from './synthea';

t.test('Synthea bundles load as transactions: counts per type, and references point at the new ids', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const bundles = bundleFiles(fixtureDir).map(readBundle);
  t.equal(bundles.length, 2);
  const responses = await loadBundles(h, bundles);
  for (const response of responses) t.equal(response.statusCode, 200, response.statusCode === 200 ? 'loaded' : response.body.slice(0, 500));

  for (const [type, count] of Object.entries(expectedCounts(bundles))) t.equal(await countOf(h, type), count, `${count} ${type}`);

  const first = bundles[0]!;
  const response = responses[0]!.json();
  t.equal(response.entry.length, first.entry.length, 'one response entry per entry');
  // The entry's fullUrl → the id the server gave it, from the response's location.
  const idOf = new Map(first.entry.map((entry, i) => [entry.fullUrl, response.entry[i].response.location.split('/').slice(-4, -2).join('/')]));
  const patientRef = idOf.get(first.entry.find((e) => e.resource.resourceType === 'Patient')!.fullUrl);
  const read = async (ref: string) => (await h.request({ method: 'GET', url: `/fhir/${ref}` })).json();

  const encounterIndex = first.entry.findIndex((e) => e.resource.resourceType === 'Encounter');
  const encounter = await read(idOf.get(first.entry[encounterIndex]!.fullUrl)!);
  t.equal(encounter.subject.reference, patientRef, 'Encounter.subject → the new Patient');
  t.match(encounter.serviceProvider.reference, /^Organization\/[0-9a-f-]{36}$/, 'Encounter.serviceProvider → a new Organization');
  t.equal((await read(encounter.serviceProvider.reference)).resourceType, 'Organization', 'which exists');

  const claimEntry = first.entry.find((e) => e.resource.resourceType === 'Claim')!;
  const claim = await read(idOf.get(claimEntry.fullUrl)!);
  t.equal(claim.patient.reference, patientRef, 'Claim.patient');
  t.match(claim.item[0].encounter[0].reference, /^Encounter\//, 'Claim.item.encounter, nested in a backbone element');

  const eobEntry = first.entry.find((e) => e.resource.resourceType === 'ExplanationOfBenefit')!;
  const eob = await read(idOf.get(eobEntry.fullUrl)!);
  t.match(eob.claim.reference, /^Claim\//, 'ExplanationOfBenefit.claim');
  t.notMatch(JSON.stringify(eob), /urn:uuid:/, 'no urn:uuid is left, contained resources included');
});
