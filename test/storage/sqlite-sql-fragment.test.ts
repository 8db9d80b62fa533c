import Database from 'better-sqlite3';
import t from 'tap';
import { inList, raw, sql } from '../../src/storage/sqlite/sql-fragment';
import { ConditionCompiler } from '../../src/storage/sqlite/condition-sql';
import { createSchema } from '../../src/storage/sqlite/schema';
import type { ParamCondition } from '../../src/search/query';

const values = (n: number) => Array.from({ length: n }, (_, i) => `Patient/p${i}`);

t.test('a short IN list binds each value; a long one binds one JSON array, so its text does not grow', async (t) => {
  const short = inList(raw('x.ref'), values(3));
  t.equal(short.text, 'x.ref IN (?, ?, ?)');
  t.same(short.params, values(3));
  const long = inList(raw('x.ref'), values(600));
  t.equal(long.params.length, 1);
  t.equal(long.text, inList(raw('x.ref'), values(40)).text, 'the same statement for 40 values as for 600');
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  const member = (value: string | number, list: Array<string | number>) => {
    const test = inList(sql`${value}`, list);
    return db.prepare(`SELECT ${test.text} AS found`).get(...test.params) as { found: number };
  };
  t.equal(member('Patient/p599', values(600)).found, 1, 'the JSON array is read back in SQLite');
  t.equal(member('Patient/p600', values(600)).found, 0);
  t.equal(member(17, Array.from({ length: 40 }, (_, i) => i)).found, 1, 'numbers too');
});

t.test('many plain references of one parameter are one IN list, not as many ORed terms', async (t) => {
  const condition: ParamCondition = { kind: 'param', code: 'subject', type: 'reference', values: values(300).map((ref) => ({ kind: 'reference', ref })) };
  const compiled = new ConditionCompiler(undefined).rows('r', ['Observation'], [condition], true);
  t.notMatch(compiled.text, / OR /, 'no OR chain');
  t.ok(compiled.params.length < 10, `${compiled.params.length} parameters bound`);
});

t.test("a per-resource test of a long list reads the resource's few entries and looks them up in the list, not each listed value in the index", async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  createSchema(db);
  const condition: ParamCondition = { kind: 'param', code: 'subject', type: 'reference', values: values(300).map((ref) => ({ kind: 'reference', ref })) };
  const test = new ConditionCompiler(undefined).test('r', condition);
  const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT r.pk FROM resources r WHERE ${test.text}`).all(...test.params) as Array<{ detail: string }>).map((row) => row.detail);
  // The table's own key, (resource, param, seq): schema.ts.
  const probe = plan.find((detail) => detail.includes('PRIMARY KEY (resource=? AND param=?)'));
  t.ok(probe, plan.join('; '));
  t.notMatch(probe!, /ref=\?/, 'the listed values are not probed one by one');
});

t.test("a per-resource test of a range reads the resource's rows by the table's key, not the parameter's range of the value index", async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  createSchema(db);
  const condition: ParamCondition = { kind: 'param', code: 'date', type: 'date', values: [{ kind: 'date', prefix: 'ge', low: 0, high: 86_399_999 }] };
  // A row of known types: the probe names the parameter's id for that type, an equality the (param, high) index could serve too.
  const compiled = new ConditionCompiler(undefined).rows('r', ['Observation'], [condition], false);
  const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT r.pk FROM resources r WHERE ${compiled.text}`).all(...compiled.params) as Array<{ detail: string }>).map((row) => row.detail);
  t.ok(plan.some((detail) => /SEARCH x\d+ .*PRIMARY KEY \(resource=\? AND param=\?\)/.test(detail)), plan.join('; '));
  t.notOk(plan.some((detail) => detail.includes('idx_date_by_')), 'no value index');
});
