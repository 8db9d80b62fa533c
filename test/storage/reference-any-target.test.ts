/**
 * A reference search value with only `targetTypes` (query.ts) means "any
 * local target of these types": the access layer's "a Schedule that names
 * no Patient" (search/compartment.ts). SQLite through a real search, MongoDB
 * through its entry filter evaluated by mingo over the entries it would hold.
 */
import { Query } from 'mingo';
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { namesNoPatient } from '../../src/search/compartment';
import { createIndexer } from '../../src/search/indexer';
import { entryMatch } from '../../src/storage/mongo/entry-match';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';

const BASE = 'http://localhost:8080/fhir';
const ctx = systemContext(BASE);
const schedules = [
  { resourceType: 'Schedule', id: 'of-doctor', actor: [{ reference: 'Practitioner/d' }] },
  { resourceType: 'Schedule', id: 'of-patient', actor: [{ reference: 'Patient/p' }] },
  { resourceType: 'Schedule', id: 'of-both', actor: [{ reference: 'Practitioner/d' }, { reference: 'Patient/p' }] },
];

t.test('sqlite: names no Patient', async (t) => {
  const storage = await createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE }) });
  t.teardown(() => storage.close());
  for (const schedule of schedules) await storage.create(ctx, schedule as AnyResource);
  const result = await storage.search(ctx, { types: ['Schedule'], where: [namesNoPatient('Schedule')!], sort: [], count: 10, offset: 0, total: 'none' });
  t.same(result.records.map((r) => r.id), ['of-doctor']);
  t.equal(namesNoPatient('Observation'), undefined, 'only the types that are patient data when they name one');
});

t.test('mongodb: the entry filter of any local target of a type', async (t) => {
  const filter = entryMatch({ kind: 'reference', targetTypes: ['Patient'] }, { code: 'actor', type: 'reference' });
  const query = new Query(filter);
  t.ok(query.test({ ref: 'Patient/p', targetType: 'Patient', targetId: 'p' }), 'a local Patient');
  t.notOk(query.test({ ref: 'Practitioner/d', targetType: 'Practitioner', targetId: 'd' }), 'another type');
  t.notOk(query.test({ ref: 'http://elsewhere/Patient/p', targetType: 'Patient', targetId: null }), 'an external Patient is no local target');
});
