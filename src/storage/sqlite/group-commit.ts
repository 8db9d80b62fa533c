import type { Database } from 'better-sqlite3';
import type { WriteLock } from './write-lock';

interface Pending {
  operation: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for single writes. A commit writes every page the write
 * dirtied to the WAL, and a resource with a dozen index rows dirties many:
 * committing the writes that arrive in the same turn of the event loop
 * together costs little more than committing one. Each write still runs in
 * its own savepoint (the store's transaction nests as one), so a write that
 * fails (409, 412) rolls back alone and fails alone; and no promise resolves
 * before the COMMIT, so nothing is acknowledged before it is durable.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Database,
    private readonly lock: WriteLock,
    /** Called after each transaction, committed or not (the parameter ids settle, param-ids.ts). */
    private readonly afterTransaction: () => void = () => {},
  ) {}

  run<T>(operation: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ operation, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    // Behind the lock: a unit of work holding the connection finishes first.
    await this.lock.run(() => {
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        this.db.exec('BEGIN IMMEDIATE');
        for (const pending of batch) {
          try {
            outcomes.push({ ok: true, value: pending.operation() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
        this.db.exec('COMMIT');
      } catch (error) {
        // The commit itself failed (e.g. a full disk): none of the batch is stored.
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        this.afterTransaction();
        for (const pending of batch) pending.reject(error);
        return;
      }
      this.afterTransaction();
      batch.forEach((pending, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
    });
  }
}
