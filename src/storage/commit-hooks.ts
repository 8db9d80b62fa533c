/**
 * Commit hooks: the one place that sees every committed change, whichever
 * way it was written (a single REST write, a unit of work, a transaction or
 * batch bundle, a conditional write). Each adapter owns one CommitHooks and
 * runs every write through it, so nothing else ever calls a listener.
 *
 * With no listener registered the adapter's own path runs untouched (one
 * size check per write). With one, a write of a watched type runs as a unit
 * of work whose operations record the changes; before COMMIT the `inside`
 * listeners see them with the unit's own operations (a thrown error rolls
 * everything back, a write through those operations commits with the
 * change), and after COMMIT the `after` listeners see them (never for a
 * rolled-back unit; a failure is logged and does not fail the write).
 */
import type { RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { CommitListener, CommittedChange, StorageOps, Unsubscribe, UnitOfWorkOptions, VersionRecord } from './port';

/** Runs `work` as the adapter's own atomic unit (its unitOfWork without the hooks). */
export type UnitRunner = <T>(work: (tx: StorageOps) => Promise<T>, options?: UnitOfWorkOptions) => Promise<T>;

export interface CommitHooksOptions {
  /**
   * False on an engine whose units are not atomic (standalone MongoDB): an
   * `inside` listener could neither veto nor commit with the change there,
   * so registering one is refused.
   */
  atomicUnits: boolean;
  /** Where an `after` listener's failure is reported (the message only: a body may hold patient data). */
  log?: (message: string) => void;
}

export class CommitHooks {
  private listeners: readonly CommitListener[] = [];

  constructor(private readonly options: CommitHooksOptions) {}

  onCommit(listener: CommitListener): Unsubscribe {
    if (listener.inside && !this.options.atomicUnits) {
      throw new Error('A commit listener that runs inside the unit needs atomic units of work (MongoDB: a replica set)');
    }
    // Copy on write: a unit keeps the list it started with, whatever (un)registers meanwhile.
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((registered) => registered !== listener);
    };
  }

  /** Whether a write of this type must go through a unit of work so that listeners see it. */
  watches(resourceType: string): boolean {
    return this.listeners.some((listener) => shows(listener, resourceType));
  }

  /** The adapter's unitOfWork: `run` unchanged while nobody listens. */
  async unit<T>(run: UnitRunner, work: (tx: StorageOps) => Promise<T>, options?: UnitOfWorkOptions): Promise<T> {
    const listeners = this.listeners;
    if (listeners.length === 0) return run(work, options);
    let committed: CommittedChange[] = [];
    const result = await run(async (tx) => {
      // A fresh record per attempt: MongoDB's withTransaction may run the body again.
      const changes: CommittedChange[] = [];
      const value = await work(recording(tx, changes));
      for (const listener of listeners) {
        const shown = visibleTo(listener, changes);
        if (listener.inside && shown.length > 0) await listener.inside(shown, tx);
      }
      committed = changes;
      return value;
    }, options);
    this.notifyAfter(listeners, committed);
    return result;
  }

  private notifyAfter(listeners: readonly CommitListener[], changes: readonly CommittedChange[]): void {
    for (const listener of listeners) {
      const shown = visibleTo(listener, changes);
      if (!listener.after || shown.length === 0) continue;
      const report = (error: unknown) => this.log(`A commit listener failed after commit: ${error instanceof Error ? error.message : String(error)}`);
      try {
        void Promise.resolve(listener.after(shown)).catch(report);
      } catch (error) {
        report(error);
      }
    }
  }

  private log(message: string): void {
    (this.options.log ?? ((text: string) => process.emitWarning(text)))(message);
  }
}

function shows(listener: CommitListener, resourceType: string): boolean {
  return listener.types === undefined || listener.types.includes(resourceType);
}

function visibleTo(listener: CommitListener, changes: readonly CommittedChange[]): readonly CommittedChange[] {
  return listener.types === undefined ? changes : changes.filter((change) => shows(listener, change.resourceType));
}

/** The before body is read whatever the caller may see: the access filter is the caller's, the change is the database's. */
function unfiltered(ctx: RequestContext): RequestContext {
  const { access: _hidden, ...open } = ctx;
  return open;
}

/**
 * `tx` whose writes append what they committed to `changes`. The body a
 * write replaces is read first, in the same unit (so it is the one the
 * write replaced): that read is the whole cost of a listener to a write.
 */
function recording(tx: StorageOps, changes: CommittedChange[]): StorageOps {
  const currentBody = async (ctx: RequestContext, type: string, id: string) => (await tx.read(unfiltered(ctx), type, id))?.resource;
  const push = (record: VersionRecord, before: AnyResource | undefined) =>
    changes.push({
      resourceType: record.resourceType,
      id: record.id,
      versionId: record.versionId,
      ...(before && { before }),
      ...(record.resource && { after: record.resource }),
    });
  return {
    read: (ctx, type, id) => tx.read(ctx, type, id),
    vread: (ctx, type, id, versionId) => tx.vread(ctx, type, id, versionId),
    history: (ctx, query) => tx.history(ctx, query),
    search: (ctx, query) => tx.search(ctx, query),
    exists: (ctx, refs) => tx.exists(ctx, refs),
    ...(tx.touchGuards && { touchGuards: (keys: readonly string[]) => tx.touchGuards!(keys) }),
    async create(ctx, resource) {
      const record = await tx.create(ctx, resource);
      push(record, undefined);
      return record;
    },
    async update(ctx, resource, options) {
      const before = resource.id === undefined ? undefined : await currentBody(ctx, resource.resourceType, resource.id);
      const result = await tx.update(ctx, resource, options);
      push(result.record, before);
      return result;
    },
    async delete(ctx, type, id, options) {
      const before = await currentBody(ctx, type, id);
      const record = await tx.delete(ctx, type, id, options);
      if (record) push(record, before);
      return record;
    },
  };
}

export type SingleWrites = Pick<StorageOps, 'create' | 'update' | 'delete'>;

/**
 * A storage's own create, update and delete: `plain` (the adapter's fast
 * path) while no listener watches the type, else a unit of work of one
 * write, so that listeners see single writes exactly as they see units.
 * The unit's guard names the resource: on standalone MongoDB that gives a
 * guarded single write its lease (SQLite ignores it).
 */
export function hookedWrites(hooks: CommitHooks, plain: SingleWrites, unitOfWork: UnitRunner): SingleWrites {
  const one = <T>(type: string, id: string | undefined, write: (tx: StorageOps) => Promise<T>) =>
    unitOfWork(write, { guard: `${type}/${id ?? ''}` });
  return {
    create: (ctx, resource) =>
      hooks.watches(resource.resourceType) ? one(resource.resourceType, resource.id, (tx) => tx.create(ctx, resource)) : plain.create(ctx, resource),
    update: (ctx, resource, options) =>
      hooks.watches(resource.resourceType)
        ? one(resource.resourceType, resource.id, (tx) => tx.update(ctx, resource, options))
        : plain.update(ctx, resource, options),
    delete: (ctx, type, id, options) =>
      hooks.watches(type) ? one(type, id, (tx) => tx.delete(ctx, type, id, options)) : plain.delete(ctx, type, id, options),
  };
}
