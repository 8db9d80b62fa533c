import type { CreateIndexesOptions, Db, IndexSpecification } from 'mongodb';

export const collectionNames = { resources: 'resources', history: 'history', locks: 'locks' } as const;

interface IndexDefinition {
  collection: (typeof collectionNames)[keyof typeof collectionNames];
  key: IndexSpecification;
  options: CreateIndexesOptions & { name: string };
}

/**
 * Every index the MongoDB adapter relies on. The unique ones are part of
 * correctness, not speed: `create` answers 409 and the write protocol detects
 * a lost race through them, so `createMongoStorage` always ensures them.
 *
 * resources
 * - `resources_by_type_id` {type: 1, id: 1}, unique: one current document per resource; read, _id search and sort.
 * - `resources_by_type_last_updated` {type: 1, lastUpdated: 1, id: 1}: `_sort=_lastUpdated` (and `-_lastUpdated,-_id`, read backwards).
 * - `resources_by_type_last_updated_desc` {type: 1, lastUpdated: -1, id: 1}: `_sort=-_lastUpdated` with the ascending id tie-breaker.
 * - `resources_by_token` {type: 1, idx.token.param: 1, idx.token.code: 1, idx.token.system: 1}:
 *   multikey; token searches `$elemMatch` one entry (param and code are the selective fields, as in SQLite).
 * - `resources_history_pending` {historyPending: 1}, partial on historyPending = true:
 *   finds the versions whose history row a crashed writer may not have written.
 *
 * history
 * - `history_by_version` {type: 1, id: 1, versionId: 1}, unique: vread, instance history; a version is written once.
 * - `history_by_last_updated` {lastUpdated: -1, seq: -1}: system history, newest first.
 * - `history_by_type_last_updated` {type: 1, lastUpdated: -1, seq: -1}: type history, newest first.
 *
 * locks
 * - `locks_expiry` {expiresAt: 1}, TTL 0: lock documents are removed once expired (a crashed holder's lease, stale transaction guards).
 *   The lock key itself is the `_id`, unique by nature.
 */
export const indexDefinitions: readonly IndexDefinition[] = [
  { collection: 'resources', key: { type: 1, id: 1 }, options: { name: 'resources_by_type_id', unique: true } },
  { collection: 'resources', key: { type: 1, lastUpdated: 1, id: 1 }, options: { name: 'resources_by_type_last_updated' } },
  { collection: 'resources', key: { type: 1, lastUpdated: -1, id: 1 }, options: { name: 'resources_by_type_last_updated_desc' } },
  {
    collection: 'resources',
    key: { type: 1, 'idx.token.param': 1, 'idx.token.code': 1, 'idx.token.system': 1 },
    options: { name: 'resources_by_token' },
  },
  {
    collection: 'resources',
    key: { historyPending: 1 },
    options: { name: 'resources_history_pending', partialFilterExpression: { historyPending: true } },
  },
  { collection: 'history', key: { type: 1, id: 1, versionId: 1 }, options: { name: 'history_by_version', unique: true } },
  { collection: 'history', key: { lastUpdated: -1, seq: -1 }, options: { name: 'history_by_last_updated' } },
  { collection: 'history', key: { type: 1, lastUpdated: -1, seq: -1 }, options: { name: 'history_by_type_last_updated' } },
  { collection: 'locks', key: { expiresAt: 1 }, options: { name: 'locks_expiry', expireAfterSeconds: 0 } },
];

/** Idempotent: creating an index that exists with the same definition is a no-op. */
export async function ensureIndexes(db: Db): Promise<void> {
  for (const { collection, key, options } of indexDefinitions) {
    await db.collection(collection).createIndex(key, options);
  }
}
