import type { Storage } from '../../storage/port';

/**
 * Whether the audit trail can be written on this storage (install-audit.ts):
 * with `appendRecords`, or in a unit of work without a guard, which a
 * standalone MongoDB refuses (501: multi-document transactions need a replica
 * set). Audited requests there would all answer 503 after the first batch, so
 * the server refuses to start instead. Answers the one line to print, or
 * undefined when the trail can be written.
 */
export function auditStoreRefusal(storage: Storage & { readonly supportsTransactions?: boolean }, authMode: 'on' | 'off'): string | undefined {
  if (authMode === 'off' || storage.appendRecords || storage.supportsTransactions !== false) return undefined;
  return 'AUTH_MODE=on needs a MongoDB replica set to write the audit trail, and this server is standalone: run it as a replica set (a single-node one will do: mongod --replSet rs0, then rs.initiate())';
}
