import type { Storage, StorageOps } from '../storage/port';
import type { Services } from './services';

/**
 * The services of a request, with the storage replaced by the operations of
 * a unit of work that is already open: the interaction functions (and so
 * every check they make) run unchanged inside a transaction bundle. A unit
 * of work they open themselves (a conditional create's search-then-write)
 * simply joins the one in progress, which is already atomic and isolated.
 */
export function servicesInUnit<S extends Services>(services: S, tx: StorageOps): S {
  const storage: Storage = {
    read: (ctx, type, id) => tx.read(ctx, type, id),
    vread: (ctx, type, id, versionId) => tx.vread(ctx, type, id, versionId),
    create: (ctx, resource) => tx.create(ctx, resource),
    update: (ctx, resource, options) => tx.update(ctx, resource, options),
    delete: (ctx, type, id, options) => tx.delete(ctx, type, id, options),
    history: (ctx, query) => tx.history(ctx, query),
    search: (ctx, query) => tx.search(ctx, query),
    exists: (ctx, refs) => tx.exists(ctx, refs),
    unitOfWork: (work) => work(tx),
    close: () => Promise.reject(new Error('The storage cannot be closed from inside a unit of work')),
  };
  return { ...services, storage };
}
