import type { RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { CursorPosition, SearchQuery } from '../search/query';

import type { VersionRecord } from '../fhir/version-record';

export type { VersionRecord };

export interface WriteOptions {
  /** Optimistic locking (`If-Match`): the write fails with 412 unless the current version is this one. */
  expectedVersion?: number;
}

export interface UpdateResult {
  record: VersionRecord;
  /** True when the update created the resource (create-on-update). */
  created: boolean;
}

export interface HistoryQuery {
  /** Absent: system history. */
  resourceType?: string;
  /** With resourceType: instance history. */
  id?: string;
  /** Only versions with lastUpdated >= since (ISO instant). */
  since?: string;
  /** Only versions with lastUpdated <= at (ISO instant): pins paging to a point in time. */
  at?: string;
  count: number;
  offset: number;
}

export interface HistoryPage {
  /** Newest first. */
  records: VersionRecord[];
  total: number;
}

export interface SearchResult {
  /** Current, non-deleted resources in the query's order (one page). */
  records: VersionRecord[];
  /** Resources added by `_include` / `_revinclude` (and `:iterate`) for this page, each once, none of them in `records`. */
  included?: VersionRecord[];
  /**
   * The number of matches, unless the query asked for no total or there are
   * more than its total cap (then `totalExceeds` is set instead).
   */
  total?: number;
  /** Set to the cap when counting stopped there. */
  totalExceeds?: number;
  /** Keyset positions of the first and last record of the page, for previous/next links. */
  first?: CursorPosition;
  last?: CursorPosition;
  /** Whether rows exist after the page (for a `next` link) and before it (for `previous`). */
  hasMore?: boolean;
  hasPrevious?: boolean;
}

/**
 * Everything the FHIR interactions need from a database. Both adapters
 * (SQLite, MongoDB) implement it and are held to the same contract suite.
 *
 * The storage owns versioning: it assigns `meta.versionId` (1, 2, 3... with no
 * gaps; a rejected write consumes none) and `meta.lastUpdated`. Callers assign ids.
 * Every call takes the request context: when `ctx.access` is set, the
 * adapter applies its conditions inside the same query to EVERY resource it
 * touches (read, vread, history, search matches, includes, chain targets and
 * `_has` sources), so that a hidden resource is indistinguishable from a
 * missing one.
 */
export interface StorageOps {
  /** The current version, tombstone included; undefined when the id never existed. */
  read(ctx: RequestContext, resourceType: string, id: string): Promise<VersionRecord | undefined>;
  vread(ctx: RequestContext, resourceType: string, id: string, versionId: number): Promise<VersionRecord | undefined>;
  /** Stores version 1 of a new resource; fails with 409 if the id is taken (even by a deleted resource). */
  create(ctx: RequestContext, resource: AnyResource): Promise<VersionRecord>;
  /** Stores the next version (or version 1 when the id is new, or after a delete continues the numbering). */
  update(ctx: RequestContext, resource: AnyResource, options?: WriteOptions): Promise<UpdateResult>;
  /** Writes a tombstone; undefined when there was nothing to delete (unknown or already deleted). */
  delete(ctx: RequestContext, resourceType: string, id: string, options?: WriteOptions): Promise<VersionRecord | undefined>;
  history(ctx: RequestContext, query: HistoryQuery): Promise<HistoryPage>;
  search(ctx: RequestContext, query: SearchQuery): Promise<SearchResult>;
  /**
   * Which of `refs` name a current, not deleted resource the caller may see
   * (`ctx.access` applies, as for a read): the set of `Type/id` keys found.
   * One indexed lookup for the whole list, for the referential-integrity check.
   */
  exists(ctx: RequestContext, refs: readonly ResourceKey[]): Promise<Set<string>>;
  /**
   * Inside a unit of work: makes this unit conflict with every concurrent
   * unit that touches one of the same keys, so that a "read, check, write"
   * over data no single document holds (one booking per slot, per
   * participant) cannot skew. MongoDB writes one guard document per key in
   * the transaction (the loser runs again on a snapshot that sees the
   * winner); SQLite's units are already serialized, so it has nothing to do
   * and leaves this out. Outside a unit of work: absent.
   */
  touchGuards?(keys: readonly string[]): Promise<void>;
}

/** A resource named by type and id. */
export interface ResourceKey {
  resourceType: string;
  id: string;
}

export interface UnitOfWorkOptions {
  /**
   * A conditional interaction's criteria (`Type?canonical-query`). Units with
   * the same guard never run at the same time, even on an engine that cannot
   * serialize every unit (MongoDB without transactions); such an engine may
   * then run a guarded unit that writes once without a transaction.
   */
  guard?: string;
}

/**
 * Re-indexing (`npm run reindex`, after the search definitions change):
 * every current resource's index entries, and every version's patients
 * (VersionRecord.patients), recomputed by the indexer and rewritten;
 * versions and bodies untouched. Each adapter implements it over
 * its own connection (sqlite/reindex.ts, mongo/reindex.ts), in batches so
 * that a running server's writes interleave, and reports progress after
 * each batch.
 */
export type ReindexProgress = (done: number, total: number) => void;

export interface ReindexSummary {
  /** Current (non-deleted) resources whose entries were rewritten. */
  resources: number;
  /** Index entries written. */
  entries: number;
  /** Stored versions (history rows, tombstones aside) whose patients were rewritten. */
  versions: number;
}

/*
 * Commit hooks (implemented once, in commit-hooks.ts, and owned by each
 * adapter): what a listener registered with `Storage.onCommit` is shown.
 */

/** One committed version. */
export interface CommittedChange {
  resourceType: string;
  id: string;
  versionId: number;
  /** The body the version replaced; absent for a create (also a create-on-update, or a write after a delete). */
  before?: AnyResource;
  /** The stored body (meta stamped); absent for a delete. */
  after?: AnyResource;
}

export interface CommitListener {
  /** Only changes of these types are shown (and units without any are not); absent: every type. */
  types?: readonly string[];
  /**
   * Runs inside the unit, before COMMIT, with the unit's operations: throw
   * (a FhirError for the client's answer) to veto the whole unit; write
   * through `tx` to commit rows with the change. Those rows are not shown
   * to any listener (no listener can trigger itself). On MongoDB a
   * transaction may run again after a transient conflict, and this with it:
   * touch only `tx`.
   */
  inside?(changes: readonly CommittedChange[], tx: StorageOps): Promise<void> | void;
  /** Runs once the unit has committed, before the write's promise resolves; not awaited, and its errors are only logged. */
  after?(changes: readonly CommittedChange[]): Promise<void> | void;
}

/** Removes the listener: units that start afterwards no longer see it. */
export type Unsubscribe = () => void;

export interface Storage extends StorageOps {
  /**
   * Runs `work` as one atomic unit: either every write inside it is committed
   * or none is, and no other write interleaves with it (conditional create
   * relies on that to avoid duplicates; transaction bundles use it whole).
   */
  unitOfWork<T>(work: (tx: StorageOps) => Promise<T>, options?: UnitOfWorkOptions): Promise<T>;
  /**
   * An opaque stamp of the committed writes to these resource types: it
   * differs from every earlier stamp of them once a create, update or delete
   * of one of them has committed (and before that write's promise resolves),
   * and stays the same while none does. Writes to other types leave it
   * alone. Caches of data derived from these types key on it (the consent
   * layer), so a change counts on the very next request. Both adapters have
   * it; a view without it (a unit of work's operations posing as a Storage)
   * gets no such caching.
   */
  changeStamp?(resourceTypes: readonly string[]): Promise<string>;
  /**
   * Creates new resources that only the server writes and nobody updates
   * (the access log), each with a fresh id: all of them are durable when it
   * resolves. Where the engine has transactions the batch is atomic (none is
   * stored when it rejects); where it has none (standalone MongoDB) a
   * rejected batch may have stored some, and a retry of the same batch
   * stores the rest without duplicating them. An adapter may do the work
   * away from the request thread (SQLite: a worker thread). Without it,
   * callers create them in a unit of work.
   */
  appendRecords?(resources: AnyResource[]): Promise<void>;
  /**
   * Registers a listener to committed changes (see CommitListener). It sees
   * every create, update and delete that commits through this storage: its
   * own single writes, and every write inside `unitOfWork` (so transaction
   * and batch bundles and conditional writes), each change once; deletes of
   * nothing and failed writes are not changes. It does not see
   * `appendRecords` (the access log is server bookkeeping, and keeping it
   * out keeps the audit's hot path free of reads), nor the rows an `inside`
   * listener writes. Both adapters have it; a unit of work's operations
   * posing as a Storage do not.
   */
  onCommit?(listener: CommitListener): Unsubscribe;
  close(): Promise<void>;
}
