/**
 * The indexes ensureIndexes creates fit the queries the compiler writes:
 * checked against the compiled documents themselves, so renaming a field on
 * one side without the other fails here (no server needed; that the server
 * accepts and creates them is mongo-contract.test.ts's part).
 */
import t from 'tap';
import type { IndexEntryKind } from '../../src/search/index-entry';
import { indexDefinitions, indexedSortParams } from '../../src/storage/mongo/indexes';
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
      const sort = compileSort([{ code, descending }, { code: '_id', descending: false }], false);
      const wanted = JSON.stringify([['type', 1], ...Object.entries(sort)]);
      t.ok(resourceIndexKeys.some((key) => JSON.stringify(key) === wanted), `${descending ? '-' : ''}${code}: ${wanted}`);
    }
  }
});

t.test('index names are unique (createIndex would refuse a second definition under one name)', async (t) => {
  const names = indexDefinitions.map((d) => d.options.name);
  t.equal(new Set(names).size, names.length);
});
