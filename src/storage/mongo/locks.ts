import { ObjectId, type ClientSession, type Collection } from 'mongodb';
import { FhirError } from '../../errors';
import { isDuplicateKey } from './mongo-errors';

/** A document of the `locks` collection; `_id` is the lock's name. */
export interface LockDocument {
  _id: string;
  /** When the TTL index may remove it; for a lease, also when another process may take it over. */
  expiresAt: Date;
  /** Lease: who holds it, so that only the holder releases it. */
  owner?: string;
  /** Transaction guard: bumped by every transaction that takes it. */
  touches?: number;
}

/** Guards touched inside transactions are only needed while those run; a day keeps the collection small. */
const transactionGuardLifetimeMs = 24 * 60 * 60 * 1000;

/**
 * Replica set: makes two transactions that search the same criteria conflict.
 *
 * Snapshot isolation alone does not stop two conditional creates: both search,
 * both see nothing, both insert (different ids, so no write touches the same
 * document) and both commit. Writing one shared document first materializes
 * the conflict: the second transaction's write meets the first's and MongoDB
 * aborts it with a TransientTransactionError, `withTransaction` runs it again
 * on a fresh snapshot, and its search now sees the first one's resource.
 */
export async function touchTransactionGuard(locks: Collection<LockDocument>, key: string, session: ClientSession): Promise<void> {
  await locks.updateOne(
    { _id: `tx:${key}` },
    { $inc: { touches: 1 }, $set: { expiresAt: new Date(Date.now() + transactionGuardLifetimeMs) } },
    { upsert: true, session },
  );
}

export interface LeaseTiming {
  /** How long a holder may keep the lease before another process may take it over (a crashed holder's lease). */
  leaseMs: number;
  /** How long to wait for the lease before answering 409. */
  waitMs: number;
}

export const defaultLeaseTiming: LeaseTiming = { leaseMs: 30_000, waitMs: 10_000 };

/**
 * Standalone server: runs `work` while holding the lease named `key`, so that
 * at most one "search, then write" runs at a time for the same criteria,
 * across every process sharing the database.
 *
 * Acquire = insert `{_id: key}` (the `_id` index refuses a second holder), or
 * take over a lease whose `expiresAt` has passed (its holder crashed). Release
 * = delete it, only if still ours. Limits: a holder that runs longer than
 * `leaseMs` (a stalled process) can lose the lease while it works; and
 * expiry is judged by each process's clock, so clocks must roughly agree.
 */
export async function withLease<T>(
  locks: Collection<LockDocument>,
  key: string,
  work: () => Promise<T>,
  timing: LeaseTiming = defaultLeaseTiming,
): Promise<T> {
  const _id = `lease:${key}`;
  const owner = new ObjectId().toHexString();
  await acquireLease(locks, _id, owner, timing);
  try {
    return await work();
  } finally {
    await locks.deleteOne({ _id, owner });
  }
}

async function acquireLease(locks: Collection<LockDocument>, _id: string, owner: string, timing: LeaseTiming): Promise<void> {
  const deadline = Date.now() + timing.waitMs;
  for (let pauseMs = 5; ; pauseMs = Math.min(pauseMs * 2, 200)) {
    const expiresAt = new Date(Date.now() + timing.leaseMs);
    try {
      await locks.insertOne({ _id, owner, expiresAt });
      return;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const takenOver = await locks.findOneAndUpdate({ _id, expiresAt: { $lt: new Date() } }, { $set: { owner, expiresAt } });
    if (takenOver) return;
    if (Date.now() >= deadline) {
      throw FhirError.of(409, 'lock-error', 'Another request with the same search criteria is still running; try again');
    }
    // Jitter, so that waiters woken together do not collide again.
    await new Promise((resolve) => setTimeout(resolve, pauseMs + Math.random() * pauseMs));
  }
}
