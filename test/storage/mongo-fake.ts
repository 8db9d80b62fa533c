/**
 * A stand-in for the MongoDB driver, enough for the adapter's write path
 * (version-writer.ts, change-stamps.ts, locks.ts) without a server: filters
 * are evaluated by mingo, a session's `withTransaction` restores every
 * collection when its body throws (an abort), and every operation is logged
 * with whether it ran inside a transaction, so a test can see where and when
 * the adapter did what. It is no model of MongoDB's isolation: writes are
 * visible at once, to everyone.
 */
import { Query } from 'mingo';
import { MongoServerError, type Document } from 'mongodb';

export interface LoggedOperation {
  collection: string;
  op: string;
  /** The session's transaction was open when the operation ran. */
  inTransaction: boolean;
  /** What it was about: the lock's or the resource's key. */
  about?: string;
}

interface FakeSession {
  inTransaction(): boolean;
}

type Options = { session?: FakeSession; upsert?: boolean } | undefined;

const clone = <T>(value: T): T => structuredClone(value);

/** The unique key of each collection's documents, as the adapter's indexes make it (indexes.ts). */
const UNIQUE: Record<string, (doc: Document) => string> = {
  resources: (doc) => `${doc.type}/${doc.id}`,
  history: (doc) => `${doc.type}/${doc.id}/${doc.versionId}`,
};

function applyUpdate(doc: Document, update: Document, inserting: boolean): void {
  for (const [key, value] of Object.entries((update.$set ?? {}) as Document)) doc[key] = value;
  if (inserting) for (const [key, value] of Object.entries((update.$setOnInsert ?? {}) as Document)) doc[key] = value;
  for (const key of Object.keys((update.$unset ?? {}) as Document)) delete doc[key];
  for (const [key, value] of Object.entries((update.$inc ?? {}) as Document)) doc[key] = ((doc[key] as number | undefined) ?? 0) + (value as number);
}

/** The equality fields of a filter: what an upsert inserts. */
const equalities = (filter: Document) =>
  Object.fromEntries(Object.entries(filter).filter(([, value]) => value === null || typeof value !== 'object' || value instanceof Date));

export class FakeMongo {
  readonly log: LoggedOperation[] = [];
  private readonly data = new Map<string, Document[]>();

  private docs(name: string): Document[] {
    let docs = this.data.get(name);
    if (!docs) this.data.set(name, (docs = []));
    return docs;
  }

  /** Operations made to fail (`collection.op`), as a dropped connection would: after `pass` more calls, `fail` calls. */
  private readonly failures = new Map<string, { pass: number; fail: number }>();

  /** After `pass` more calls of `op` on `collection` succeed, the next `fail` calls reject with "connection reset" before doing anything. */
  failNext(collection: string, op: string, { pass = 0, fail = 1 }: { pass?: number; fail?: number } = {}): void {
    this.failures.set(`${collection}.${op}`, { pass, fail });
  }

  private note(collection: string, op: string, options: Options, about?: unknown): void {
    const failure = this.failures.get(`${collection}.${op}`);
    if (failure && failure.pass > 0) failure.pass--;
    else if (failure && failure.fail > 0) {
      failure.fail--;
      throw new Error('connection reset');
    }
    this.log.push({ collection, op, inTransaction: options?.session?.inTransaction() ?? false, ...(typeof about === 'string' ? { about } : {}) });
  }

  /** The documents of a collection as stored now. */
  stored(name: string): Document[] {
    return clone(this.docs(name));
  }

  private collection(name: string) {
    const docs = () => this.docs(name);
    const matching = (filter: Document) => docs().filter((doc) => new Query(filter).test(doc));
    const keyOf = (filter: Document) => (filter._id as string | undefined) ?? (filter.type !== undefined ? `${filter.type}/${filter.id}` : undefined);
    const insert = (doc: Document) => {
      const unique = UNIQUE[name] ?? ((d: Document) => String(d._id));
      if (docs().some((other) => unique(other) === unique(doc))) throw new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 });
      docs().push(clone(doc));
    };
    const updateOne = (filter: Document, update: Document, options: Options) => {
      const [found] = matching(filter);
      if (found) applyUpdate(found, update, false);
      else if (options?.upsert) {
        const created = equalities(filter);
        applyUpdate(created, update, true);
        insert(created);
      }
      return { matchedCount: found ? 1 : 0 };
    };
    return {
      findOne: async (filter: Document, options?: Options) => {
        this.note(name, 'findOne', options, keyOf(filter));
        const [found] = matching(filter);
        return found ? clone(found) : null;
      },
      find: (filter: Document, options?: Options) => {
        this.note(name, 'find', options);
        const found = clone(matching(filter));
        const cursor = { sort: () => cursor, skip: () => cursor, limit: () => cursor, toArray: async () => found };
        return cursor;
      },
      countDocuments: async (filter: Document, options?: Options) => {
        this.note(name, 'countDocuments', options);
        return matching(filter).length;
      },
      insertOne: async (doc: Document, options?: Options) => {
        this.note(name, 'insertOne', options, (doc._id as string | undefined) ?? `${doc.type}/${doc.id}`);
        insert(doc);
        return { acknowledged: true };
      },
      replaceOne: async (filter: Document, doc: Document, options?: Options) => {
        this.note(name, 'replaceOne', options, keyOf(filter));
        const [found] = matching(filter);
        if (!found) return { matchedCount: 0 };
        docs().splice(docs().indexOf(found), 1, clone(doc));
        return { matchedCount: 1 };
      },
      updateOne: async (filter: Document, update: Document, options?: Options) => {
        this.note(name, 'updateOne', options, keyOf(filter));
        return updateOne(filter, update, options);
      },
      bulkWrite: async (operations: Array<{ updateOne: { filter: Document; update: Document; upsert?: boolean } }>, options?: Options) => {
        this.note(name, 'bulkWrite', options);
        for (const { updateOne: one } of operations) updateOne(one.filter, one.update, { ...options, upsert: one.upsert ?? false });
        return { ok: 1 };
      },
      /** Unordered: every document that can be is inserted; the taken ids fail together at the end, as the driver reports them. */
      insertMany: async (many: Document[], options?: Options) => {
        this.note(name, 'insertMany', options);
        const writeErrors: Array<{ code: number; index: number }> = [];
        many.forEach((doc, index) => {
          try {
            insert(doc);
          } catch {
            writeErrors.push({ code: 11000, index });
          }
        });
        if (writeErrors.length > 0) throw Object.assign(new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 }), { writeErrors });
        return { insertedCount: many.length };
      },
      deleteMany: async (filter: Document, options?: Options) => {
        this.note(name, 'deleteMany', options);
        const found = matching(filter);
        for (const doc of found) docs().splice(docs().indexOf(doc), 1);
        return { deletedCount: found.length };
      },
      deleteOne: async (filter: Document, options?: Options) => {
        this.note(name, 'deleteOne', options, keyOf(filter));
        const [found] = matching(filter);
        if (found) docs().splice(docs().indexOf(found), 1);
        return { deletedCount: found ? 1 : 0 };
      },
      findOneAndUpdate: async (filter: Document, update: Document, options?: Options) => {
        this.note(name, 'findOneAndUpdate', options, keyOf(filter));
        const [found] = matching(filter);
        if (found) applyUpdate(found, update, false);
        return found ? clone(found) : null;
      },
    };
  }

  /** What `mongoStorageOn` takes as its `Db`. */
  readonly db = { collection: (name: string) => this.collection(name) };

  /** What `mongoStorageOn` takes as its `MongoClient`: sessions whose transactions abort by restoring every collection. */
  readonly client = {
    startSession: () => {
      let open = false;
      const session = {
        inTransaction: () => open,
        withTransaction: async <T>(body: () => Promise<T>): Promise<T> => {
          const before = new Map([...this.data].map(([name, docs]) => [name, clone(docs)]));
          open = true;
          this.log.push({ collection: '-', op: 'startTransaction', inTransaction: true });
          try {
            const result = await body();
            this.log.push({ collection: '-', op: 'commitTransaction', inTransaction: true });
            return result;
          } catch (error) {
            this.data.clear();
            for (const [name, docs] of before) this.data.set(name, docs);
            this.log.push({ collection: '-', op: 'abortTransaction', inTransaction: true });
            throw error;
          } finally {
            open = false;
          }
        },
        endSession: async () => undefined,
      };
      return session;
    },
    close: async () => undefined,
  };
}
