/**
 * What a user-level principal may change: only what it may see, and never
 * data placed about a patient it may not see. Reads are safe because the
 * storage applies `ctx.access` inside every query; a write names its target
 * by id, so the write interactions call this before they store, on every
 * path (REST, conditional forms, batch and transaction entries all run
 * src/interactions/write.ts). The filter is the write's own (`ctx.access`
 * for the interaction's permission), the one a PATCH already reads through.
 * Break-the-glass needs nothing here: the consent layer opens the filter,
 * and the request is audited as such.
 */
import { systemContext, type RequestContext } from '../context';
import { notFound } from '../errors';
import type { StorageOps } from '../storage/port';

/** True when the caller's filter restricts what it sees: a user; the operator writes freely. */
const restricted = (ctx: RequestContext) => ctx.principal.kind === 'user' && ctx.access !== undefined;

/**
 * An update, patch or delete of `type/id` that exists but is hidden from the
 * caller: 404, the answer a read of it gets, and nothing is written. A free
 * id (never used, or deleted) is left for the write to create.
 */
export async function assertTargetVisible(ops: StorageOps, ctx: RequestContext, type: string, id: string): Promise<void> {
  if (!restricted(ctx)) return;
  if (await ops.read(ctx, type, id)) return;
  const stored = await ops.read(systemContext(ctx.baseUrl, ctx.requestId), type, id);
  if (stored && !stored.deleted) throw notFound(`${type}/${id} is not known`);
}

// A user naming a Patient it may not see is refused by the reference check
// (src/interactions/reference-integrity.ts), worded as a reference to nothing.
