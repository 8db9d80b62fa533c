import { MongoBulkWriteError, ObjectId, type ClientSession, type Collection } from 'mongodb';
import { conflict, preconditionFailed } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import {
  historyDocument,
  resourceDocument,
  withStoredFields,
  type HistoryDocument,
  type ResourceDocument,
  type VersionDocument,
} from './documents';
import { isDuplicateKey } from './mongo-errors';
import { notBefore, stampResource } from '../versioning';

export interface VersionCollections {
  resources: Collection<ResourceDocument>;
  history: Collection<HistoryDocument>;
}

/** What a write makes of the current version: a new body, a tombstone, or nothing at all. */
export type NextVersion = { resource: AnyResource } | { tombstone: true } | undefined;

export interface Committed {
  version: VersionDocument;
  /** The current document the version replaced; null when the resource was new. */
  previous: ResourceDocument | null;
}

/** Losing this many races in a row for one resource means something is wrong; answer 409 rather than spin. */
const maxAttempts = 10;

/**
 * The write protocol: read the current document, derive the next version,
 * commit it with a version-conditional write on `resources`, then write its
 * `history` row.
 *
 * The current document is the commit point. `replaceOne({type, id,
 * versionId: n})` succeeds for exactly one writer of version n + 1, and a
 * loser (matchedCount 0, or a duplicate key when both created) re-reads and
 * tries again, or answers 412 when it wrote under If-Match: so versions have
 * no gaps and a rejected write consumes none.
 *
 * Crash consistency without a transaction: the history row is written after
 * the commit, so a crash in between leaves a current document without its
 * history row, never a history row for a version that was not committed. The
 * current document holds everything that row needs and carries
 * `historyPending: true` until it is written; whoever finds the marker writes
 * the row (idempotently: upsert with $setOnInsert on the unique version key):
 * - the next write of the same resource, before its own row;
 * - `completePendingHistory` (run by createMongoStorage at start-up);
 * meanwhile vread falls back to the current document. So no acknowledged
 * version is lost, and at worst system/type history misses the latest version
 * of a resource whose writer crashed until one of those runs.
 *
 * Inside a transaction (replica set) both writes commit together and the
 * marker is not used.
 */
export class VersionWriter {
  constructor(
    private readonly collections: VersionCollections,
    private readonly indexer: Indexer,
    private readonly session?: ClientSession,
  ) {}

  /**
   * Commits the version `next` derives from the current document. Undefined
   * when `next` says there is nothing to write (it may also throw, e.g. 409).
   */
  async commit(
    now: Date,
    type: string,
    id: string,
    next: (current: ResourceDocument | null) => NextVersion,
    expectedVersion?: number,
  ): Promise<Committed | undefined> {
    const what = `${type}/${id}`;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await this.collections.resources.findOne({ type, id }, { session: this.session });
      const change = next(current);
      if (change === undefined) return undefined;
      if (expectedVersion !== undefined && current?.versionId !== expectedVersion) {
        const actual = current ? `version ${current.versionId}` : 'no version';
        throw preconditionFailed(`${what}: expected version ${expectedVersion}, found ${actual}`);
      }
      const stamped = stampVersion(now, type, id, current, change);
      // Indexed before anything is written: an indexer that throws leaves nothing behind.
      const entries = stamped.resource ? this.indexer(stamped.resource) : [];
      const version = withStoredFields(stamped, entries);
      const document = resourceDocument(version, entries);
      if (!this.session) document.historyPending = true;
      if (await this.replaceCurrent(current, document)) {
        await this.recordHistory(current?.historyPending ? [current, version] : [version]);
        return { version, previous: current };
      }
      // Someone else committed version n + 1 first.
      if (expectedVersion !== undefined) {
        throw preconditionFailed(`${what}: expected version ${expectedVersion}, but another write committed first`);
      }
    }
    throw conflict(`${what} is being written by too many requests at once; try again`);
  }

  /**
   * Writes the history rows of these versions (idempotent), then clears their
   * pending markers. Also used to finish the work of a crashed writer.
   */
  async recordHistory(versions: VersionDocument[]): Promise<void> {
    try {
      await this.collections.history.bulkWrite(
        versions.map((version) => ({
          updateOne: {
            filter: { type: version.type, id: version.id, versionId: version.versionId },
            update: { $setOnInsert: historyDocument(version) },
            upsert: true,
          },
        })),
        { ordered: false, session: this.session },
      );
    } catch (error) {
      // Two upserts of the same row racing (a writer and a repairer): the row exists, which is all we want.
      if (!(error instanceof MongoBulkWriteError && writeErrorsAreDuplicates(error))) throw error;
    }
    if (this.session) return;
    for (const version of versions) {
      await this.collections.resources.updateOne(
        { type: version.type, id: version.id, versionId: version.versionId, historyPending: true },
        { $unset: { historyPending: '' } },
      );
    }
  }

  /** True when this write became the current version; false when another writer got there first. */
  private async replaceCurrent(current: ResourceDocument | null, document: ResourceDocument): Promise<boolean> {
    const options = { session: this.session };
    if (current) {
      const filter = { type: current.type, id: current.id, versionId: current.versionId };
      return (await this.collections.resources.replaceOne(filter, document, options)).matchedCount === 1;
    }
    try {
      await this.collections.resources.insertOne(document, options);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }
}

/** The next version of a resource, as the adapter stores it (exported for the differential test's documents). */
export function stampVersion(
  now: Date,
  type: string,
  id: string,
  current: ResourceDocument | null,
  change: NonNullable<NextVersion>,
): VersionDocument {
  const versionId = (current?.versionId ?? 0) + 1;
  const lastUpdated = notBefore(now.toISOString(), current?.lastUpdated);
  const resource = 'resource' in change ? stampResource(change.resource, versionId, lastUpdated) : undefined;
  return {
    type,
    id,
    versionId,
    lastUpdated,
    deleted: resource === undefined,
    ...(resource ? { resource } : {}),
    seq: new ObjectId().toHexString(),
  };
}

/** Only duplicate keys: a write concern error (the rows may not be durable) must still surface. */
function writeErrorsAreDuplicates(error: MongoBulkWriteError): boolean {
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return error.err === undefined && writeErrors.length > 0 && writeErrors.every((e) => e.code === 11000);
}
