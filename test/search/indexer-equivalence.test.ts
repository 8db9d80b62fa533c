import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import t, { type Test } from 'tap';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';

/**
 * The compiled navigation (compiled-path.ts) must give exactly the index
 * entries that evaluating every expression with fhirpath.js gives.
 */
const BASE = 'https://concord.example/fhir';
const compiled = createIndexer({ baseUrl: BASE });
const reference = createIndexer({ baseUrl: BASE, engine: 'fhirpath', onError: (e) => { throw e; } });

const fixturesDir = join(__dirname, '..', 'fixtures');
const sharedSynthea = join(__dirname, '..', '..', '..', 'shared', 'data', 'synthea');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? jsonFiles(path) : name.endsWith('.json') ? [path] : [];
    });
}

type Json = Record<string, unknown>;
const isResource = (v: unknown): v is AnyResource => typeof v === 'object' && v !== null && typeof (v as Json).resourceType === 'string';

/** A file's resource, its contained resources, and for a Bundle every entry's resource (and theirs). */
function resourcesIn(value: unknown): AnyResource[] {
  if (!isResource(value)) return [];
  const json = value as unknown as Json;
  const contained = Array.isArray(json.contained) ? json.contained.flatMap(resourcesIn) : [];
  const entries = Array.isArray(json.entry) ? json.entry.flatMap((e: Json) => resourcesIn(e?.resource)) : [];
  return [value, ...contained, ...entries];
}

function checkFiles(t: Test, files: string[]) {
  let resources = 0;
  let entries = 0;
  const mismatches: { file: string; resource: string; compiled: unknown; fhirpath: unknown }[] = [];
  for (const file of files) {
    for (const resource of resourcesIn(JSON.parse(readFileSync(file, 'utf8')))) {
      resources++;
      const expected = reference(resource);
      const actual = compiled(resource);
      entries += expected.length;
      if (!isDeepStrictEqual(actual, expected)) {
        mismatches.push({ file, resource: `${resource.resourceType}/${resource.id}`, compiled: actual, fhirpath: expected });
      }
    }
  }
  t.ok(resources > 0 && entries > 0, `${resources} resources, ${entries} entries compared`);
  t.same(mismatches.slice(0, 3), [], `${mismatches.length} resources index differently`);
}

/** Shapes the fixtures rarely or never show: primitive extensions, two choice variants, malformed repeats, numbers. */
const edgeCases: unknown[] = [
  {
    resourceType: 'Patient', id: 'ext',
    name: [{ family: 'Núñez', given: ['Ana', 'María'], _given: [null, { extension: [{ url: 'http://x/a', valueString: 'y' }] }, { id: 'only-extension' }] }],
    _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '2020-01-01T10:00:00Z' }] },
    telecom: [{ system: 'phone', value: '1' }, { value: '2' }, { _system: { extension: [] }, value: '3' }, { system: 'email', value: 'a@b' }],
    gender: 'female', active: true, deceasedBoolean: false,
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-extensions-Patient-mothersMaidenName', valueString: 'X' }],
    contained: [{ resourceType: 'Organization', id: 'o1', name: 'Contained' }],
    managingOrganization: { reference: '#o1' },
    generalPractitioner: [{ reference: 'https://concord.example/fhir/Practitioner/p1/_history/2' }, { identifier: { system: 's', value: 'v' } }],
  },
  {
    resourceType: 'Observation', id: 'two-variants', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1' }], text: 'One' },
    valueString: 'first in the model order?', valueQuantity: { value: 1.50, comparator: '<', unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
    subject: { reference: 'Patient/p1' }, effectivePeriod: { start: '2020-01' },
    component: [
      { code: { coding: [{ code: 'a' }] }, valueRange: { low: { value: 1, unit: 'mg' }, high: { value: 2 } } },
      { code: { coding: [{ code: 'b' }, { code: 'c' }] }, valueCodeableConcept: { coding: [{ code: 'd' }] } },
      { code: { text: 'no value' } },
    ],
  },
  {
    resourceType: 'RiskAssessment', id: 'numbers', status: 'final', subject: { reference: 'Patient/p1' },
    prediction: [{ probabilityDecimal: 0.25 }, { probabilityRange: { low: { value: 1 }, high: { value: 2 } } }, { probabilityDecimal: 1e21 }],
  },
  {
    resourceType: 'Condition', id: 'onset', subject: { reference: 'Patient/p1' },
    onsetAge: { value: 40, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' }, abatementString: 'later',
  },
  { resourceType: 'Bundle', id: 'b', type: 'document', timestamp: '2020-01-01T00:00:00Z', entry: [{ resource: { resourceType: 'Composition', id: 'c', status: 'final', type: { text: 'x' }, date: '2020', author: [{ display: 'a' }], title: 't' } }] },
];

t.test('hand-made edge cases: the same entries as with fhirpath.js alone', async (t) => {
  for (const resource of edgeCases.flatMap(resourcesIn)) {
    t.same(compiled(resource), reference(resource), `${resource.resourceType}/${resource.id}`);
  }
});

t.test('every resource of test/fixtures: the same entries as with fhirpath.js alone', async (t) => {
  checkFiles(t, jsonFiles(fixturesDir));
});

if (!existsSync(sharedSynthea)) {
  t.skip(`the same entries for the shared Synthea bundles: ${sharedSynthea} is absent`, () => {});
} else {
  t.test('every resource of the shared Synthea bundles: the same entries as with fhirpath.js alone', async (t) => {
    checkFiles(t, jsonFiles(sharedSynthea));
  });
}
