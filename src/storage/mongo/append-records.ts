import type { RequestContext } from '../../context';
import { FhirError } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { StorageOps } from '../port';

/**
 * The access log's batches on a server without transactions (standalone):
 * each event is created on its own, and one whose id is already stored
 * counts as written. Event ids are fresh for every event (audit-event ids in
 * the UUID v7 layout), so a taken id can only be this very event, stored by
 * an earlier attempt of the same batch that failed part way: the audit
 * buffer's retry then stores the rest and duplicates nothing. A batch that
 * rejects may have stored some of its events; its retry completes it.
 */
export async function appendIdempotently(ops: Pick<StorageOps, 'create'>, ctx: RequestContext, resources: readonly AnyResource[]): Promise<void> {
  for (const resource of resources) {
    try {
      await ops.create(ctx, resource);
    } catch (error) {
      if (!isTakenId(error)) throw error;
    }
  }
}

/** The create's 409 for an id that exists (mongo-ops.ts), not a lost race or any other failure. */
const isTakenId = (error: unknown): boolean =>
  error instanceof FhirError && error.status === 409 && error.issues.some((issue) => / already exists/.test(issue.diagnostics ?? ''));
