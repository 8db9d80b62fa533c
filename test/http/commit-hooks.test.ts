/**
 * Every REST write path reaches a listener registered on the storage
 * (Storage.onCommit): create, update, patch, delete, conditional create, and
 * each write of a transaction bundle, shown once after it committed; and a
 * veto inside the unit fails the request and writes nothing.
 */
import t from 'tap';
import { FhirError } from '../../src/errors';
import type { CommittedChange } from '../../src/storage/port';
import { fhirJson, minimalPatient, startHarness } from './harness';

/** A transaction bundle that PUTs these Patients. */
const putPatients = (...patients: Array<Record<string, unknown>>) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: patients.map((resource) => ({ resource: minimalPatient(resource), request: { method: 'PUT', url: `Patient/${String(resource.id)}` } })),
});

const key = (change: CommittedChange) => `${change.resourceType}/${change.id}/${change.versionId}`;

t.test('each REST write path reaches a commit listener, once per commit', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const batches: string[][] = [];
  h.storage.onCommit!({ after: (changes) => void batches.push(changes.map(key)) });
  const next = () => batches.splice(0);

  const created = await h.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: minimalPatient() });
  t.equal(created.statusCode, 201);
  const id = created.json().id as string;
  t.same(next(), [[`Patient/${id}/1`]], 'POST create');

  const put = await h.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { ...(created.json() as Record<string, unknown>), gender: 'male' } });
  t.equal(put.statusCode, 200);
  t.same(next(), [[`Patient/${id}/2`]], 'PUT update');

  const patch = await h.request({
    method: 'PATCH',
    url: `/fhir/Patient/${id}`,
    headers: { 'content-type': 'application/json-patch+json' },
    payload: [{ op: 'replace', path: '/gender', value: 'female' }],
  });
  t.equal(patch.statusCode, 200);
  t.same(next(), [[`Patient/${id}/3`]], 'PATCH');

  const conditional = await h.request({
    method: 'POST',
    url: '/fhir/Patient',
    headers: { ...fhirJson, 'if-none-exist': 'identifier=urn:x|1' },
    payload: minimalPatient({ identifier: [{ system: 'urn:x', value: '1' }] }),
  });
  t.equal(conditional.statusCode, 201);
  t.same(next(), [[`Patient/${conditional.json().id}/1`]], 'conditional create');

  const deleted = await h.request({ method: 'DELETE', url: `/fhir/Patient/${id}` });
  t.equal(deleted.statusCode, 204);
  t.same(next(), [[`Patient/${id}/4`]], 'DELETE');

  const transaction = await h.request({
    method: 'POST',
    url: '/fhir',
    headers: fhirJson,
    payload: putPatients({ id: 'tx-a' }, { id: 'tx-b' }),
  });
  t.equal(transaction.statusCode, 200);
  t.same(next().map((batch) => batch.sort()), [['Patient/tx-a/1', 'Patient/tx-b/1']], 'a transaction is one batch of all its writes');
});

t.test('a veto inside the unit fails the REST write and the transaction, and writes nothing', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  let after = 0;
  h.storage.onCommit!({
    types: ['Patient'],
    inside: (changes) => {
      if (changes.some((change) => change.after?.gender === 'unknown')) throw FhirError.of(409, 'conflict', 'refused by a commit rule');
    },
    after: () => void after++,
  });
  const refused = await h.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: minimalPatient({ gender: 'unknown' }) });
  t.equal(refused.statusCode, 409);
  t.match(refused.json(), { resourceType: 'OperationOutcome', issue: [{ code: 'conflict', diagnostics: 'refused by a commit rule' }] });
  const transaction = await h.request({
    method: 'POST',
    url: '/fhir',
    headers: fhirJson,
    payload: putPatients({ id: 'ok' }, { id: 'no', gender: 'unknown' }),
  });
  t.equal(transaction.statusCode, 409);
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/ok' })).statusCode, 404, 'the transaction wrote nothing');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient?_summary=count' })).json().total, 0, 'no Patient at all');
  t.equal(after, 0, 'no after listener ran');
});
