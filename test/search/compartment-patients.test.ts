/**
 * patientsInCompartment, the one patient-compartment function, as its two
 * users call it: the audit (the CompartmentDefinition's parameters, so a
 * Patient's `link` counts) and consent (a Patient is only its own patient's).
 */
import t from 'tap';
import { patientsOfFactory } from '../../src/security/audit/patients-of';
import { compartmentParams, patientsOf } from '../../src/security/consent/patients-of';
import { patientsInCompartment } from '../../src/search/compartment';
import { createIndexer } from '../../src/search/indexer';

const baseUrl = 'http://localhost:8080/fhir';
const indexer = createIndexer({ baseUrl });
const linked = { resourceType: 'Patient', id: 'b', link: [{ other: { reference: 'Patient/a' }, type: 'seealso' }] } as const;
const observation = { resourceType: 'Observation', id: 'o', status: 'final', code: {}, subject: { reference: 'Patient/z' }, performer: [{ reference: 'Patient/a' }, { reference: 'Practitioner/p' }] } as const;

t.test('a Patient: the audit counts its links, consent does not', async (t) => {
  const facts = { resourceType: 'Patient', id: 'b', entries: indexer(linked) };
  t.same(patientsOfFactory(baseUrl)(linked), ['a', 'b'], 'audit');
  t.same(patientsOf(facts), ['b'], 'consent');
  t.same(patientsInCompartment('Patient', 'b', facts.entries, compartmentParams('Patient')), ['b']);
});

t.test('another resource: both use its compartment parameters, sorted, each once', async (t) => {
  const entries = indexer(observation);
  t.same(patientsOfFactory(baseUrl)(observation), ['a', 'z']);
  t.same(patientsOf({ resourceType: 'Observation', id: 'o', entries }), ['a', 'z']);
  t.same(patientsInCompartment('Observation', 'o', entries, ['subject']), ['z'], 'only the parameters given');
});
