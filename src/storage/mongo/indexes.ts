import type { CreateIndexesOptions, Db, IndexSpecification } from 'mongodb';
import type { IndexEntryKind } from '../../search/index-entry';

export const collectionNames = { resources: 'resources', history: 'history', locks: 'locks', audit: 'audit' } as const;

interface IndexDefinition {
  collection: (typeof collectionNames)[keyof typeof collectionNames];
  key: IndexSpecification;
  options: CreateIndexesOptions & { name: string };
}

/**
 * The parameters whose sort keys get their own compound indexes (ascending
 * and descending): the sorts the benchmark and the common clients use. A sort
 * on any other parameter is correct but sorts in memory (MongoDB's 100 MB
 * sort limit applies; `allowDiskUse` is the server's default from 6.0).
 */
export const indexedSortParams = ['date', 'birthdate', 'family', 'name'] as const;

/**
 * Every index the MongoDB adapter relies on. The unique ones are part of
 * correctness, not speed: `create` answers 409 and the write protocol detects
 * a lost race through them, so `createMongoStorage` always ensures them.
 * The search indexes are multikey (one key per index entry) and lead with
 * `type` then the entry's `param`, the two fields every `$elemMatch` of
 * search-filter.ts fixes, so one index range serves one parameter.
 *
 * resources
 * - `resources_by_type_id` {type: 1, id: 1}, unique: one current document per resource; read, _id search and sort, `_has` results, includes.
 * - `resources_by_type_last_updated` {type: 1, lastUpdated: 1, id: 1}: `_sort=_lastUpdated` (and `-_lastUpdated,-_id`, read backwards).
 * - `resources_by_type_last_updated_desc` {type: 1, lastUpdated: -1, id: 1}: `_sort=-_lastUpdated` with the ascending id tie-breaker.
 * - `resources_by_token` {type, idx.token.param, idx.token.code, idx.token.system}: token searches (param and code are the selective fields).
 * - `resources_by_token_text` {type, idx.token.param, idx.token.text}: token `:text` (anchored regex).
 * - `resources_by_string` {type, idx.string.param, idx.string.norm}: string searches (default starts-with is an anchored regex, an index range).
 * - `resources_by_string_exact` {type, idx.string.param, idx.string.exact}: string `:exact`.
 * - `resources_by_reference` {type, idx.reference.param, idx.reference.ref}: reference searches, chains (`ref $in`).
 * - `resources_by_reference_id` {type, idx.reference.param, idx.reference.targetId}: a bare id over several target types.
 * - `resources_by_reference_target` {idx.reference.ref, idx.reference.param}: `_revinclude` and `:iterate`, which look for references to given resources across types.
 * - `resources_by_reference_identifier` {type, idx.reference.param, idx.reference.identifierValue}: reference `:identifier`.
 * - `resources_by_date` {type, idx.date.param, idx.date.low, idx.date.high}: date searches and `_lastUpdated` conditions.
 * - `resources_by_number` {type, idx.number.param, idx.number.low, idx.number.high}: number searches.
 * - `resources_by_quantity` {type, idx.quantity.param, idx.quantity.low, idx.quantity.high}: quantity searches (units are then checked on the entry).
 * - `resources_by_uri` {type, idx.uri.param, idx.uri.value}: uri equality, `:below` (anchored regex) and `:above` (`$in` of prefixes).
 * - `resources_by_composite` {type, idx.composite.param}: composite searches narrow to the parameter, the components are checked on the entry.
 * - `resources_sort_<p>_asc` {type, sort.<p>.has: -1, sort.<p>.min: 1, id: 1} and `resources_sort_<p>_desc`
 *   {type, sort.<p>.has: -1, sort.<p>.max: -1, id: 1} for each p of `indexedSortParams`: `_sort=p` / `_sort=-p` in index order (search-sort.ts).
 * - `resources_history_pending` {historyPending: 1}, partial on historyPending = true:
 *   finds the versions whose history row a crashed writer may not have written.
 *
 * history
 * - `history_by_version` {type: 1, id: 1, versionId: 1}, unique: vread, instance history; a version is written once.
 * - `history_by_last_updated` {lastUpdated: -1, seq: -1}: system history, newest first.
 * - `history_by_type_last_updated` {type: 1, lastUpdated: -1, seq: -1}: type history, newest first.
 *
 * audit (the access log, audit-log.ts says what each serves)
 * - `audit_by_term` {terms.p, terms.v, sortHigh: -1}, `audit_by_date` {sortLow, _id},
 *   `audit_by_date_desc` {sortHigh: -1, _id}, `audit_by_last_updated` {lastUpdated, _id}.
 *
 * locks
 * - `locks_expiry` {expiresAt: 1}, TTL 0: lock documents are removed once expired (a crashed holder's lease, stale transaction guards).
 *   The lock key itself is the `_id`, unique by nature.
 */
export const indexDefinitions: readonly IndexDefinition[] = [
  { collection: 'resources', key: { type: 1, id: 1 }, options: { name: 'resources_by_type_id', unique: true } },
  { collection: 'resources', key: { type: 1, lastUpdated: 1, id: 1 }, options: { name: 'resources_by_type_last_updated' } },
  { collection: 'resources', key: { type: 1, lastUpdated: -1, id: 1 }, options: { name: 'resources_by_type_last_updated_desc' } },
  entryIndex('resources_by_token', 'token', ['code', 'system']),
  entryIndex('resources_by_token_text', 'token', ['text']),
  entryIndex('resources_by_string', 'string', ['norm']),
  entryIndex('resources_by_string_exact', 'string', ['exact']),
  entryIndex('resources_by_reference', 'reference', ['ref']),
  entryIndex('resources_by_reference_id', 'reference', ['targetId']),
  { collection: 'resources', key: { 'idx.reference.ref': 1, 'idx.reference.param': 1 }, options: { name: 'resources_by_reference_target' } },
  entryIndex('resources_by_reference_identifier', 'reference', ['identifierValue']),
  entryIndex('resources_by_date', 'date', ['low', 'high']),
  entryIndex('resources_by_number', 'number', ['low', 'high']),
  entryIndex('resources_by_quantity', 'quantity', ['low', 'high']),
  entryIndex('resources_by_uri', 'uri', ['value']),
  entryIndex('resources_by_composite', 'composite', []),
  ...indexedSortParams.flatMap((param) => sortIndexes(param)),
  {
    collection: 'resources',
    key: { historyPending: 1 },
    options: { name: 'resources_history_pending', partialFilterExpression: { historyPending: true } },
  },
  { collection: 'history', key: { type: 1, id: 1, versionId: 1 }, options: { name: 'history_by_version', unique: true } },
  { collection: 'history', key: { lastUpdated: -1, seq: -1 }, options: { name: 'history_by_last_updated' } },
  { collection: 'history', key: { type: 1, lastUpdated: -1, seq: -1 }, options: { name: 'history_by_type_last_updated' } },
  { collection: 'locks', key: { expiresAt: 1 }, options: { name: 'locks_expiry', expireAfterSeconds: 0 } },
  // The access log (audit-log.ts); `_id` is the event id, unique by nature.
  { collection: 'audit', key: { 'terms.p': 1, 'terms.v': 1, sortHigh: -1 }, options: { name: 'audit_by_term' } },
  { collection: 'audit', key: { sortLow: 1, _id: 1 }, options: { name: 'audit_by_date' } },
  { collection: 'audit', key: { sortHigh: -1, _id: 1 }, options: { name: 'audit_by_date_desc' } },
  { collection: 'audit', key: { lastUpdated: 1, _id: 1 }, options: { name: 'audit_by_last_updated' } },
];

/** {type, idx.<kind>.param, idx.<kind>.<field>...}: the shape every entry search uses. */
function entryIndex(name: string, kind: IndexEntryKind, fields: readonly string[]): IndexDefinition {
  const key: Record<string, 1> = { type: 1, [`idx.${kind}.param`]: 1 };
  for (const field of fields) key[`idx.${kind}.${field}`] = 1;
  return { collection: 'resources', key, options: { name } };
}

function sortIndexes(param: string): IndexDefinition[] {
  const base = `sort.${param}`;
  return [
    { collection: 'resources', key: { type: 1, [`${base}.has`]: -1, [`${base}.min`]: 1, id: 1 }, options: { name: `resources_sort_${param}_asc` } },
    { collection: 'resources', key: { type: 1, [`${base}.has`]: -1, [`${base}.max`]: -1, id: 1 }, options: { name: `resources_sort_${param}_desc` } },
  ];
}

/**
 * Index options that only make the database faster or tidier, never the
 * answers right: the partial index on `historyPending` (a full one finds the
 * same rows), and the TTL on lock documents (a lease's expiry compares
 * `expiresAt` itself, locks.ts). Some MongoDB-compatible servers refuse them
 * with error 238 NotImplemented; then the index is created without them.
 */
const optionalOptions = ['partialFilterExpression', 'expireAfterSeconds'] as const;

const NOT_IMPLEMENTED = 238;

const isNotImplemented = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === NOT_IMPLEMENTED;

const defaultWarn = (message: string): void => void process.stderr.write(`concord: warning: ${message}\n`);

/**
 * Idempotent: creating an index that exists with the same definition is a
 * no-op. An index whose optional options the server refuses (238) is created
 * without them, with one warning per index; any other refusal is thrown.
 */
export async function ensureIndexes(db: Db, warn: (message: string) => void = defaultWarn): Promise<void> {
  for (const { collection, key, options } of indexDefinitions) {
    try {
      await db.collection(collection).createIndex(key, options);
    } catch (error) {
      const dropped = optionalOptions.filter((option) => option in options);
      if (!isNotImplemented(error) || dropped.length === 0) throw error;
      const plain = { ...options };
      for (const option of dropped) delete plain[option];
      await db.collection(collection).createIndex(key, plain);
      warn(`the MongoDB server does not implement ${dropped.join(' and ')} (error 238): index ${options.name} created without it, which is slower or keeps expired locks, never wrong`);
    }
  }
}
