import t from 'tap';
import { createIndexer } from '../../src/search/indexer';
import { impliedSystem } from '../../src/search/implied-system';
import type { TokenEntry } from '../../src/search/index-entry';

const index = createIndexer({ baseUrl: 'http://example.org/fhir' });
const tokens = (resource: Record<string, unknown>, param: string): TokenEntry[] =>
  index(resource as never).filter((e): e is TokenEntry => e.kind === 'token' && e.param === param);

t.test('a code element is indexed with the system its required binding implies', async (t) => {
  t.same(tokens({ resourceType: 'Patient', gender: 'female' }, 'gender'), [
    { param: 'gender', kind: 'token', system: 'http://hl7.org/fhir/administrative-gender', code: 'female' },
  ]);
  t.equal(tokens({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } }, 'status')[0]?.system, 'http://hl7.org/fhir/encounter-status');
});

t.test('no implied system without a binding, or for a code the value set does not hold', async (t) => {
  t.equal(impliedSystem('Patient.gender', 'robot'), null, 'a code outside the value set');
  t.equal(impliedSystem('Patient.nonsense', 'x'), null, 'an element without a binding');
  t.equal(tokens({ resourceType: 'Patient', active: true }, 'active')[0]?.system, null, 'a boolean has no system');
  t.equal(tokens({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } }, 'class')[0]?.system, null, 'a Coding keeps its own (absent) system');
});
