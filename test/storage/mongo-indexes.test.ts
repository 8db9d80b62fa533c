/**
 * The indexes ensureIndexes creates fit the queries the compiler writes:
 * checked against the compiled documents themselves, so renaming a field on
 * one side without the other fails here (no server needed; that the server
 * accepts and creates them is mongo-contract.test.ts's part).
 */
import type { Db } from 'mongodb';
import t from 'tap';
import type { IndexEntryKind } from '../../src/search/index-entry';
import { ensureIndexes, indexDefinitions, indexedSortParams } from '../../src/storage/mongo/indexes';
import { compileCondition } from '../../src/storage/mongo/search-filter';
import { compileSort } from '../../src/storage/mongo/search-sort';
import { parsed } from './search-cases';

const resourceIndexKeys = indexDefinitions.filter((d) => d.collection === 'resources').map((d) => Object.entries(d.key as Record<string, number>));

t.test('every entry search leads with an index on {type, idx.<kind>.param}', async (t) => {
  const requests = [
    'Patient?gender=male',
    'Observation?code:text=heart',
    'Patient?family=chal',
    'Patient?family:exact=Chalmers',
    'Observation?subject=Patient/p1',
    'Observation?subject:identifier=urn:x|1',
    'Patient?birthdate=ge1980',
    'RiskAssessment?probability=gt0.5',
    'Observation?value-quantity=72',
    'ValueSet?url:below=http://example.org',
    'Observation?code-value-quantity=http://loinc.org|8867-4$gt90',
  ];
  const kinds = new Set<string>();
  for (const request of requests) {
    const query = parsed(request);
    const compiled = JSON.stringify(compileCondition(query.where[0]!, new Map()));
    const kind = /"idx\.([a-z]+)"/.exec(compiled)?.[1];
    t.ok(kind, `${request} searches an idx array`);
    kinds.add(kind!);
    t.ok(
      resourceIndexKeys.some(([first, second]) => first?.[0] === 'type' && second?.[0] === `idx.${kind}.param`),
      `an index for ${request} (idx.${kind})`,
    );
  }
  const allKinds: IndexEntryKind[] = ['token', 'string', 'reference', 'date', 'number', 'quantity', 'uri', 'composite'];
  t.same([...kinds].sort(), [...allKinds].sort(), 'the requests cover every kind');
});

t.test('the sort indexes have exactly the order the compiler asks for', async (t) => {
  for (const code of indexedSortParams) {
    for (const descending of [false, true]) {
      const type = code === 'date' || code === 'birthdate' ? 'date' : 'string';
      const sort = compileSort([{ code, descending, type }, { code: '_id', descending: false }], false);
      const wanted = JSON.stringify([['type', 1], ...Object.entries(sort)]);
      t.ok(resourceIndexKeys.some((key) => JSON.stringify(key) === wanted), `${descending ? '-' : ''}${code}: ${wanted}`);
    }
  }
});

t.test('index names are unique (createIndex would refuse a second definition under one name)', async (t) => {
  const names = indexDefinitions.map((d) => d.options.name);
  t.equal(new Set(names).size, names.length);
});

/** A database whose createIndex records its calls and answers 238 NotImplemented to the options it refuses. */
function fakeDb(refused: readonly string[], otherError?: Error) {
  const created: Array<{ collection: string; name: string; options: Record<string, unknown> }> = [];
  const db = {
    collection: (collection: string) => ({
      createIndex: async (_key: unknown, options: Record<string, unknown>) => {
        if (otherError && 'expireAfterSeconds' in options) throw otherError;
        if (refused.some((option) => option in options)) throw Object.assign(new Error(`${refused[0]} not implemented`), { code: 238 });
        created.push({ collection, name: options.name as string, options });
        return options.name;
      },
    }),
  };
  return { db: db as unknown as Db, created };
}

t.test('ensureIndexes keeps partialFilterExpression and expireAfterSeconds where the server accepts them', async (t) => {
  const { db, created } = fakeDb([]);
  const warnings: string[] = [];
  await ensureIndexes(db, (w) => warnings.push(w));
  t.equal(created.length, indexDefinitions.length);
  t.same(created.find((c) => c.name === 'resources_history_pending')?.options.partialFilterExpression, { historyPending: true });
  t.equal(created.find((c) => c.name === 'locks_expiry')?.options.expireAfterSeconds, 0);
  t.same(warnings, []);
});

t.test('a server answering 238 for an index option: one warning per index, created without the option', async (t) => {
  const { db, created } = fakeDb(['partialFilterExpression', 'expireAfterSeconds']);
  const warnings: string[] = [];
  await ensureIndexes(db, (w) => warnings.push(w));
  t.equal(created.length, indexDefinitions.length, 'every index is created');
  t.notOk('partialFilterExpression' in created.find((c) => c.name === 'resources_history_pending')!.options);
  t.notOk('expireAfterSeconds' in created.find((c) => c.name === 'locks_expiry')!.options);
  t.equal(warnings.length, 2, 'one warning for each of the two indexes');
  t.match(warnings, [/partialFilterExpression \(error 238\): index resources_history_pending/, /expireAfterSeconds \(error 238\): index locks_expiry/]);
});

t.test('any other refusal still fails the start-up', async (t) => {
  const { db } = fakeDb([], Object.assign(new Error('unauthorized'), { code: 13 }));
  await t.rejects(ensureIndexes(db, () => {}), { code: 13 });
});
