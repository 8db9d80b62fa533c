import t from 'tap';
import { isResourceType, patientCompartment, resourceTypes, searchParameter, searchParameters } from '../../src/fhir/definitions';

t.test('resource types', async (t) => {
  t.equal(resourceTypes().length, 146);
  t.ok(isResourceType('Patient') && isResourceType('Consent'));
  t.notOk(isResourceType('Resource') || isResourceType('DomainResource') || isResourceType('patient'));
  t.same([...resourceTypes()], [...resourceTypes()].sort());
});

t.test('search parameters', async (t) => {
  t.match(searchParameter('Patient', 'birthdate'), { type: 'date', expression: 'Patient.birthDate', base: ['Patient'] });
  t.match(searchParameter('Patient', '_id'), { type: 'token', base: ['Resource'] }, 'Resource parameters apply to every type');
  const encounterPatient = searchParameter('Encounter', 'patient');
  t.equal(encounterPatient?.type, 'reference');
  t.ok(encounterPatient?.base.includes('Encounter') && encounterPatient.base.length > 1, 'multi-base parameter');
  t.ok(encounterPatient?.target?.includes('Patient'));
  t.ok(searchParameter('Consent', '_text'), 'DomainResource parameters too');
  t.notOk(searchParameter('Patient', 'shoe-size'));
  t.same(searchParameters('Nope'), []);
  const composite = searchParameter('Observation', 'code-value-quantity');
  t.equal(composite?.component?.length, 2, 'composite components');
});

t.test('patient compartment', async (t) => {
  const compartment = patientCompartment();
  t.same(compartment.get('Encounter'), ['patient']);
  t.ok(compartment.get('Consent')?.includes('patient'));
  t.notOk(compartment.has('ActivityDefinition'), 'types without params are left out');
});
