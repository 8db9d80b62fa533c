import t from 'tap';
import { errorKeys } from './helpers';

const encounter = (subject: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject, ...extra });

t.test('a reference names a type its element allows (targetProfile)', async (t) => {
  t.same(errorKeys(encounter({ reference: 'Patient/1' })), [], 'Patient');
  t.same(errorKeys(encounter({ reference: 'Group/1' })), [], 'Group');
  t.same(errorKeys(encounter({ reference: 'Device/1' })), ['invalid@Encounter.subject.reference'], 'Device is not a subject of an Encounter');
  t.same(errorKeys(encounter({ reference: 'https://other.example/fhir/Device/1/_history/2' })), ['invalid@Encounter.subject.reference'], 'absolute, versioned');
  t.same(errorKeys(encounter({ reference: 'Patient/1', type: 'Practitioner' })), ['invalid@Encounter.subject.type'], 'Reference.type');
  const withContained = encounter({ reference: '#d' }, { contained: [{ resourceType: 'Device', id: 'd' }] });
  t.same(errorKeys(withContained), ['invalid@Encounter.subject.reference'], 'a contained resource of the wrong type');
});

t.test('references whose type cannot be told, or elements open to any type, are not judged', async (t) => {
  t.same(errorKeys(encounter({ reference: 'urn:uuid:0b7f4d3a-1111-4c2e-8a55-0123456789ab' })), [], 'urn:uuid');
  t.same(errorKeys(encounter({ identifier: { value: 'x' } })), [], 'logical');
  t.same(errorKeys(encounter({ reference: 'Patient/1' }, { extension: [{ url: 'http://x', valueReference: { reference: 'Device/1' } }] })), [], 'an extension takes any type');
  const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Device/1' } };
  t.same(errorKeys(observation), [], 'Observation.subject may be a Device in R4');
});
