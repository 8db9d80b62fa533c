import t from 'tap';
import { auditStoreRefusal } from '../../src/security/audit/audit-store-check';
import type { Storage } from '../../src/storage/port';

// A standalone MongoDB cannot run the audit trail's unit of work (no guard, no transaction).
const storage = (fields: { supportsTransactions?: boolean; appendRecords?: Storage['appendRecords'] }) => fields as unknown as Storage;

t.test('auth on, standalone MongoDB without appendRecords: refused in one line that says why and what to do', async (t) => {
  const line = auditStoreRefusal(storage({ supportsTransactions: false }), 'on');
  t.match(line, /AUTH_MODE=on needs a MongoDB replica set.*standalone.*replSet/);
  t.notMatch(line ?? '', /\n/, 'one line');
});

t.test('every other case starts', async (t) => {
  t.equal(auditStoreRefusal(storage({ supportsTransactions: false }), 'off'), undefined, 'auth off: nothing is audited');
  t.equal(auditStoreRefusal(storage({ supportsTransactions: true }), 'on'), undefined, 'a replica set runs the unit of work');
  t.equal(auditStoreRefusal(storage({ supportsTransactions: false, appendRecords: async () => {} }), 'on'), undefined, 'appendRecords needs no unit of work');
  t.equal(auditStoreRefusal(storage({ appendRecords: async () => {} }), 'on'), undefined, 'SQLite');
});
