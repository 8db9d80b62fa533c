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
import { notFound, unprocessable, type Issue } from '../errors';
import type { AnyResource } from '../fhir/types';
import { normalizeReference } from '../search/reference';
import type { StorageOps } from '../storage/port';

/** A local reference found in a resource, with its element path (`Encounter.subject`). */
interface FoundReference {
  path: string;
  type: string;
  id: string;
}

/** Every literal local reference (`Type/id`, relative or under the server's base) in `value`. */
function localReferences(value: unknown, path: string, baseUrl: string, found: FoundReference[] = []): FoundReference[] {
  if (Array.isArray(value)) {
    value.forEach((item) => localReferences(item, path, baseUrl, found));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'contained') continue;
      if (key === 'reference' && typeof item === 'string') {
        const { targetType, targetId } = normalizeReference(item, baseUrl);
        if (targetType && targetId) found.push({ path, type: targetType, id: targetId });
      } else {
        localReferences(item, `${path}.${key}`, baseUrl, found);
      }
    }
  }
  return found;
}

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

/** The wording of a reference that resolves to nothing the caller may see (missing, deleted or hidden alike). */
export function unresolvedIssue(path: string, reference: string): Issue {
  return { severity: 'error', code: 'not-found', diagnostics: `The reference ${reference} names no resource on this server`, expression: [path] };
}

/**
 * A written resource must not name a Patient the caller may not see (which
 * would place the data in that patient's compartment): 422, worded as a
 * reference to nothing, so it never tells a hidden patient from a missing one.
 * The resource's own id does not count (a Patient written by its own id).
 */
export async function assertPatientsVisible(ops: StorageOps, ctx: RequestContext, written: AnyResource): Promise<void> {
  // Patients are held to their own compartment by the scopes (write-check.ts).
  if (ctx.principal.kind !== 'user' || ctx.principal.actorType === 'Patient' || !ctx.consentAccess) return;
  const seeing: RequestContext = { ...ctx, access: ctx.consentAccess };
  const patients = localReferences(written, written.resourceType, ctx.baseUrl).filter(
    (ref) => ref.type === 'Patient' && !(written.resourceType === 'Patient' && ref.id === written.id),
  );
  const issues: Issue[] = [];
  for (const ref of patients) {
    const record = await ops.read(seeing, ref.type, ref.id);
    if (!record || record.deleted) issues.push(unresolvedIssue(ref.path, `${ref.type}/${ref.id}`));
  }
  if (issues.length > 0) throw unprocessable(issues);
}
