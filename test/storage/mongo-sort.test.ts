/**
 * The order and the keyset positions of search-sort.ts over hand-made
 * documents, evaluated by mingo: ties between types sharing ids and sort
 * values, missing values last in both directions, and keyset pages in both
 * directions that together give the whole order, for every page size.
 */
import { Query } from 'mingo';
import type { Document } from 'mongodb';
import t from 'tap';
import type { CursorPosition, SortKey } from '../../src/search/query';
import { compileSort, keysetFilter, positionOf } from '../../src/storage/mongo/search-sort';

const doc = (type: string, id: string, lastUpdated: string, date?: [number, number]): Document => ({
  type,
  id,
  lastUpdated,
  sort: date ? { date: { has: true, min: date[0], max: date[1] } } : {},
});

const documents = [
  doc('Encounter', 'x', '2024-01-01T00:00:00.000Z', [5, 9]),
  doc('Appointment', 'x', '2024-01-01T00:00:00.000Z', [5, 9]),
  doc('Appointment', 'y', '2024-01-02T00:00:00.000Z', [1, 20]),
  doc('Encounter', 'a', '2024-01-01T00:00:00.000Z'),
  doc('Appointment', 'b', '2024-01-03T00:00:00.000Z'),
  doc('Encounter', 'z', '2024-01-02T00:00:00.000Z', [7, 7]),
  doc('Encounter', 'w', '2024-01-04T00:00:00.000Z', [2, 3]),
];

const ordered = (sort: Record<string, 1 | -1>, filter: Document = {}) =>
  new Query(filter).find<Document>(documents).sort(sort).all().map((d) => `${d.type}/${d.id}`);

t.test('ties: type, then id, when the keys do not order them', async (t) => {
  t.same(ordered(compileSort([{ code: '_lastUpdated', descending: false }], true)), [
    'Appointment/x',
    'Encounter/a',
    'Encounter/x',
    'Appointment/y',
    'Encounter/z',
    'Appointment/b',
    'Encounter/w',
  ]);
  t.same(ordered(compileSort([{ code: '_id', descending: true }], true)), ['Encounter/z', 'Appointment/y', 'Appointment/x', 'Encounter/x', 'Encounter/w', 'Appointment/b', 'Encounter/a'], 'ids shared across types: type breaks the tie');
});

t.test('a parameter: ascending by smallest, descending by largest, missing last both ways', async (t) => {
  // min: y 1, w 2, x 5 (both types), z 7; max: y 20, x 9, z 7, w 3; a and b have no date.
  const byDate = (descending: boolean) => ordered(compileSort([{ code: 'date', descending, type: 'date' }, { code: '_id', descending: false }], true));
  t.same(byDate(false), ['Appointment/y', 'Encounter/w', 'Appointment/x', 'Encounter/x', 'Encounter/z', 'Encounter/a', 'Appointment/b']);
  t.same(byDate(true), ['Appointment/y', 'Appointment/x', 'Encounter/x', 'Encounter/z', 'Encounter/w', 'Encounter/a', 'Appointment/b']);
});

const orders: Array<[string, SortKey[]]> = [
  ['date', [{ code: 'date', descending: false, type: 'date' }, { code: '_id', descending: false }]],
  ['-date', [{ code: 'date', descending: true, type: 'date' }, { code: '_id', descending: false }]],
  ['-date,-_id', [{ code: 'date', descending: true, type: 'date' }, { code: '_id', descending: true }]],
  ['_lastUpdated (no _id key)', [{ code: '_lastUpdated', descending: false }]],
];

for (const [name, keys] of orders) {
  t.test(`keyset pages in both directions rebuild the whole order: ${name}`, async (t) => {
    const whole = ordered(compileSort(keys, true));
    const page = (position: CursorPosition | undefined, side: 'after' | 'before', size: number) => {
      const filter = position ? keysetFilter(keys, true, position, side) : {};
      const rows = new Query(filter).find<Document>(documents).sort(compileSort(keys, true, side === 'before')).limit(size).all();
      return side === 'before' ? rows.reverse() : rows;
    };
    for (let size = 1; size <= documents.length; size++) {
      const forward: Document[] = [];
      for (let rows = page(undefined, 'after', size); rows.length > 0; rows = page(positionOf(rows.at(-1)!, keys), 'after', size)) forward.push(...rows);
      t.same(forward.map((d) => `${d.type}/${d.id}`), whole, `forwards, pages of ${size}`);
      const last = forward.at(-1)!;
      const backward: Document[] = [last];
      for (let rows = page(positionOf(last, keys), 'before', size); rows.length > 0; rows = page(positionOf(rows[0]!, keys), 'before', size)) backward.unshift(...rows);
      t.same(backward.map((d) => `${d.type}/${d.id}`), whole, `backwards, pages of ${size}`);
    }
  });
}

t.test('a key without a sortable parameter type is refused, as SQLite refuses it', async (t) => {
  for (const key of [{ code: 'no-such-sort', descending: false }, { code: 'code-value-quantity', descending: false, type: 'composite' as const }]) {
    let caught: unknown;
    try {
      compileSort([key], false);
    } catch (error) {
      caught = error;
    }
    t.match(caught, { status: 400, issues: [{ code: 'not-supported' }] }, key.code);
  }
});
