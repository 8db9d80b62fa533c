/**
 * How the MongoDB adapter runs a unit of work on each topology: the decision
 * is pure, so it is tested here without a server (mongo-contract.test.ts runs
 * the units themselves when MONGODB_URI is set).
 */
import t from 'tap';
import { FhirError } from '../../src/errors';
import { unitGuardKey } from '../../src/storage/mongo/guard-key';
import { unitStrategy } from '../../src/storage/mongo/unit-strategy';

const guard = 'Patient?identifier=urn%3Aexample%3Amrn%7C42';

t.test('replica set: always a transaction, taking the guard when there is one', async (t) => {
  t.same(unitStrategy(true), { kind: 'transaction' });
  t.same(unitStrategy(true, { guard }), { kind: 'transaction', guardKey: unitGuardKey(guard) });
});

t.test('standalone with a guard: under the lease named by the guard, no transaction', async (t) => {
  t.same(unitStrategy(false, { guard }), { kind: 'lease', guardKey: unitGuardKey(guard) });
});

t.test('standalone without a guard: 501 not-supported naming the replica set requirement', async (t) => {
  let caught: unknown;
  try {
    unitStrategy(false, {});
  } catch (error) {
    caught = error;
  }
  t.ok(caught instanceof FhirError);
  t.match(caught, { status: 501, issues: [{ code: 'not-supported', diagnostics: /replica set/ }] });
});

t.test('guard keys: the same guard names the same lock, a different one another, never a search criteria key', async (t) => {
  t.equal(unitGuardKey(guard), unitGuardKey(guard));
  t.not(unitGuardKey(guard), unitGuardKey(`${guard}0`));
  t.match(unitGuardKey('x'.repeat(10_000)), /^[0-9a-f]{64}$/, 'bounded length whatever the criteria');
});
