/**
 * Optional: every Synthea bundle in ../shared/data/synthea (when the folder
 * exists) loaded into one database, then for each patient the searches a
 * client starts with must find exactly that patient's resources. Without
 * the folder the test is skipped with a visible reason.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../../src/paths';
import { startHarness } from '../http/harness';
import { loadSyntheaBundle, searchBundle } from './helpers';

const folder = join(projectRoot, '..', 'shared', 'data', 'synthea');
const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.json')).sort() : [];

t.test(`all Synthea bundles from ${folder}`, { skip: files.length === 0 ? `no Synthea bundles in ${folder}` : false }, async (t) => {
  const h = await startHarness();
  t.teardown(() => h.close());
  const patients: Array<{ id: string; identifier: string; encounters: number; claims: number }> = [];
  for (const file of files) {
    await loadSyntheaBundle(h.storage, join(folder, file));
    const resources = (JSON.parse(readFileSync(join(folder, file), 'utf8')) as { entry: Array<{ resource: { resourceType: string; id: string; identifier?: Array<{ system?: string; value: string }> } }> }).entry.map((e) => e.resource);
    const patient = resources.find((r) => r.resourceType === 'Patient')!;
    const synthea = patient.identifier!.find((i) => i.system === 'https://github.com/synthetichealth/synthea')!;
    const count = (type: string) => resources.filter((r) => r.resourceType === type).length;
    patients.push({ id: patient.id, identifier: synthea.value, encounters: count('Encounter'), claims: count('Claim') });
  }
  t.equal((await searchBundle(h, '/fhir/Patient?_summary=count')).total, files.length, 'one patient per bundle');
  for (const p of patients) {
    const byIdentifier = await searchBundle(h, `/fhir/Patient?identifier=https://github.com/synthetichealth/synthea|${p.identifier}`);
    t.same(byIdentifier.entry?.map((e) => e.resource.id), [p.id], `${p.id} by identifier`);
    t.equal((await searchBundle(h, `/fhir/Encounter?patient=${p.id}&_summary=count`)).total, p.encounters, `${p.id} encounters`);
    t.equal((await searchBundle(h, `/fhir/Claim?patient.identifier=https://github.com/synthetichealth/synthea|${p.identifier}&_summary=count`)).total, p.claims, `${p.id} claims`);
  }
});
