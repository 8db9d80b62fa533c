import t from 'tap';
import { errorKeys, errors, example, validator } from './helpers';

t.test('the body must be a resource of a known type', async (t) => {
  for (const body of [null, 42, 'Patient', [], [{ resourceType: 'Patient' }]]) {
    t.same(errorKeys(body), ['invalid@'], `${JSON.stringify(body)} is rejected`);
  }
  t.same(errorKeys({ name: [{ family: 'x' }] }), ['invalid@resourceType'], 'no resourceType');
  t.same(errorKeys({ resourceType: 'Patients' }), ['not-supported@resourceType'], 'unknown type');
  t.same(errorKeys({ resourceType: 'DomainResource' }), ['not-supported@resourceType'], 'abstract type');
});

t.test('required elements (min >= 1)', async (t) => {
  const encounter = example('Encounter-example.json');
  delete encounter.status;
  t.same(errorKeys(encounter), ['required@Encounter.status'], 'Encounter.status');
  const claim = example('Claim-100150.json');
  delete claim.patient;
  t.same(errorKeys(claim), ['required@Claim.patient'], 'Claim.patient');
  const [issue] = errors(validator.validate(claim));
  t.match(issue!.diagnostics, /Claim\.patient/, 'the diagnostics name the element');
  t.same(errorKeys({ resourceType: 'Patient', communication: [{ preferred: true }] }), ['required@Patient.communication[0].language'], 'in a backbone element');
  t.same(errorKeys({ resourceType: 'Encounter', _status: { extension: [{ url: 'http://x', valueCode: 'unknown' }] }, class: { code: 'x' } }), [], 'a primitive present by its extension only');
});

t.test('primitive formats follow the spec regexes', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', birthDate: '1990-13-45' }), ['value@Patient.birthDate'], 'month 13');
  t.same(errorKeys({ resourceType: 'Patient', birthDate: '1990-01-01T10:00:00Z' }), ['value@Patient.birthDate'], 'a dateTime is not a date');
  t.same(errorKeys({ resourceType: 'Patient', birthDate: '1990-02' }), [], 'partial dates are dates');
  t.same(errorKeys({ resourceType: 'Patient', id: 'has space' }), ['value@Patient.id'], 'id');
  t.same(errorKeys({ resourceType: 'Patient', gender: 'female ' }), ['value@Patient.gender'], 'code with trailing space');
  t.same(errorKeys({ resourceType: 'Patient', name: [{ given: ['Ann', ''] }] }), ['value@Patient.name[0].given[1]'], 'empty string');
  t.same(errorKeys({ resourceType: 'Patient', name: [{ text: 'Ann\u00a0Smith' }] }), [], 'a non-breaking space is a character of a string');
  t.same(errorKeys({ resourceType: 'Patient', multipleBirthInteger: 2.5 }), ['structure@Patient.multipleBirthInteger'], 'integer');
  t.same(errorKeys({ resourceType: 'Patient', active: 'true' }), ['structure@Patient.active'], 'boolean as a string');
});

t.test('unknown properties, arrays and single values', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', shoeSize: 42 }), ['structure@Patient.shoeSize'], 'unknown property at the root');
  t.same(errorKeys({ resourceType: 'Patient', name: [{ family: 'X', nick: 'x' }] }), ['structure@Patient.name[0].nick'], 'unknown property in a data type');
  t.same(errorKeys({ resourceType: 'Patient', name: { family: 'X' } }), ['structure@Patient.name'], 'object where an array is expected');
  t.same(errorKeys({ resourceType: 'Patient', name: [{ given: 'Ann' }] }), ['structure@Patient.name[0].given'], 'string where an array is expected');
  t.same(errorKeys({ resourceType: 'Patient', gender: ['female'] }), ['structure@Patient.gender'], 'array where a single value is expected');
  t.same(errorKeys({ resourceType: 'Patient', name: [] }), ['structure@Patient.name'], 'empty array');
  t.same(errorKeys({ resourceType: 'Patient', maritalStatus: {} }), ['structure@Patient.maritalStatus'], 'empty object');
  t.same(errorKeys({ resourceType: 'Patient', name: [{ given: ['Ann', null], _given: [null, { extension: [{ url: 'http://x', valueString: 'y' }] }] }] }), [], 'null placeholders in primitive arrays');
  t.same(errorKeys({ resourceType: 'Patient', _birthDate: { shoe: 1 } }), ['structure@Patient._birthDate.shoe'], '_element is an Element');
});

t.test('choice types', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', deceasedBoolean: true }), [], 'a declared variant');
  t.same(errorKeys({ resourceType: 'Patient', deceasedString: 'yes' }), ['structure@Patient.deceasedString'], 'an undeclared variant');
  t.same(errorKeys({ resourceType: 'Patient', deceasedDateTime: 'yesterday' }), ['value@Patient.deceasedDateTime'], 'a variant with a wrong value');
  t.same(errorKeys({ resourceType: 'Patient', deceasedBoolean: true, deceasedDateTime: '2020' }), ['structure@Patient'], 'two variants at once');
  t.same(errorKeys({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: '12' } }), ['structure@Observation.valueQuantity.value'], 'decimal as string');
});

t.test('nested resources are validated as their own type', async (t) => {
  const patient = { resourceType: 'Patient', contained: [{ resourceType: 'Encounter', id: 'e1', class: { code: 'x' } }] };
  t.same(errorKeys(patient), ['required@Patient.contained[0].status'], 'contained');
  t.same(errorKeys({ resourceType: 'Patient', contained: [{ id: 'x' }] }), ['required@Patient.contained[0].resourceType'], 'contained without resourceType');
  t.same(errorKeys({ resourceType: 'Patient', contained: [{ resourceType: 'Nope' }] }), ['not-supported@Patient.contained[0]'], 'contained of unknown type');
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', birthDate: 'x' } }] };
  t.same(errorKeys(bundle), ['value@Bundle.entry[0].resource.birthDate'], 'Bundle.entry.resource');
  const parameters = { resourceType: 'Parameters', parameter: [{ name: 'p', resource: { resourceType: 'Claim' } }] };
  t.ok(errorKeys(parameters).includes('required@Parameters.parameter[0].resource.patient'), 'Parameters.parameter.resource');
});
