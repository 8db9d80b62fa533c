/**
 * The search IR's `rowTest` hint (query.ts) on SQLite: a condition so marked
 * is never the driving set, and compiles to exactly the SQL its old spelling
 * (the same condition wrapped in NOT NOT) did, so plans are unchanged; an
 * unmarked condition still drives.
 */
import t from 'tap';
import type { Condition } from '../../src/search/query';
import { ConditionCompiler } from '../../src/storage/sqlite/condition-sql';
import { token } from './contract-fixtures';

const compiler = () => new ConditionCompiler(undefined);
const byId: Condition = { kind: 'param', code: '_id', type: 'token', values: [{ kind: 'token', code: 'a' }] };
const consentLike: Condition = { kind: 'any', of: [[token('identifier', { system: 'urn:x', code: '1' })], [token('gender', { code: 'female' })]] };
const notNot = (condition: Condition): Condition => ({ kind: 'not', condition: { kind: 'not', condition } });

for (const [name, condition] of [
  ['an _id condition', byId],
  ['an any of parameters', consentLike],
] as const) {
  t.test(`rowTest on ${name}`, async (t) => {
    const marked = compiler().from('r', ['Patient'], [{ ...condition, rowTest: true }]);
    const spelled = compiler().from('r', ['Patient'], [notNot(condition)]);
    // A row test is compiled once and reused, with aliases of its own (`k…`, condition-sql.ts).
    const ownAliases = (where: { text: string }) => ({ ...where, text: where.text.replace(/\bk([a-z]\d+)/g, '$1') });
    t.same({ ...marked, where: ownAliases(marked.where) }, spelled, 'the same FROM, WHERE and parameters as NOT NOT');
    t.equal(marked.driver, undefined, 'not a driving set');
    t.match(marked.where.text, /NOT NOT /, 'tested on the row');
    const unmarked = compiler().from('r', ['Patient'], [condition]);
    t.not(unmarked.where.text, marked.where.text, 'without the hint the plan differs');
  });
}
