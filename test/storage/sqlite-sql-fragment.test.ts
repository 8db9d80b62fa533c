import Database from 'better-sqlite3';
import t from 'tap';
import { inList, raw, sql } from '../../src/storage/sqlite/sql-fragment';
import { ConditionCompiler } from '../../src/storage/sqlite/condition-sql';
import { createSchema } from '../../src/storage/sqlite/schema';
import { installValueSets } from '../../src/storage/sqlite/value-sets';
import type { Condition, ParamCondition } from '../../src/search/query';

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

t.test('a row test is compiled once per condition object, its long lists looked up in a Set built once', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  createSchema(db);
  installValueSets(db);
  const condition: Condition = { kind: 'param', code: 'subject', type: 'reference', values: values(300).map((ref) => ({ kind: 'reference', ref })), rowTest: true };
  const first = new ConditionCompiler(undefined).test('r', condition);
  t.equal(new ConditionCompiler(undefined).test('r', condition), first, 'the same fragment for the same condition and row');
  t.not(new ConditionCompiler(undefined).test('r', { ...condition }), first, 'another condition object (new data) is compiled afresh');
  t.notMatch(first.text, /json_each/, 'no JSON list to parse per query');
  t.match(first.text, /concord_in_set\(\?, kx1\.ref\)/);
  t.equal(first.params.filter((p) => typeof p === 'string' && p.startsWith('[')).length, 0);
  const insert = db.prepare("INSERT INTO resources (type, id, version_id, last_updated, deleted, json) VALUES ('Observation', ?, 1, '2024-01-01T00:00:00.000Z', 0, '{}')");
  const pkOf = (id: string) => Number(insert.run(id).lastInsertRowid);
  const subject = Number(db.prepare("INSERT INTO search_params (type, code) VALUES ('Observation', 'subject')").run().lastInsertRowid);
  const entry = db.prepare(`INSERT INTO idx_reference (resource, param, seq, ref, target_type, target_id) VALUES (?, ${subject}, 0, ?, 'Patient', ?)`);
  entry.run(pkOf('in'), 'Patient/p299', 'p299');
  entry.run(pkOf('out'), 'Patient/p300', 'p300');
  pkOf('none');
  const ids = (test: { text: string; params: readonly unknown[] }) =>
    (db.prepare(`SELECT r.id FROM resources r WHERE ${test.text} ORDER BY r.id`).all(...test.params) as Array<{ id: string }>).map((row) => row.id);
  t.same(ids(first), ['in'], 'the Set answers as the IN list');
  t.same(ids({ text: `NOT (${first.text})`, params: first.params }), ['none', 'out'], 'and so does its negation');
  // The row's types are in the SQL (the parameter id of each type): rows of another type get their own fragment.
  const ofObservation = new ConditionCompiler(undefined).rows('r', ['Observation'], [condition], false);
  const ofCondition = new ConditionCompiler(undefined).rows('r', ['Condition'], [condition], false);
  t.ok(ofObservation.params.includes('Observation') && !ofObservation.params.includes('Condition'), 'Observation rows name the Observation parameter');
  t.ok(ofCondition.params.includes('Condition') && !ofCondition.params.includes('Observation'), 'Condition rows name the Condition parameter, not a cached Observation fragment');
  t.same(ids(ofObservation), ['in'], 'and the typed fragment finds the row');
});
