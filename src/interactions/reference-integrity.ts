/**
 * Referential integrity on write: every literal local reference of a written
 * resource (`Type/id`, relative or under the server's base URL) must name a
 * current resource, or the write answers 422 with one issue per bad reference
 * (HAPI refuses the same writes; a dangling reference is one a later chain,
 * `_include` or consent relationship would silently miss).
 *
 * Left alone, as nothing on this server can resolve or needs to: contained
 * references (`#id`), canonical URLs (a canonical is a plain string, never a
 * Reference's `reference`), absolute URLs of other servers, logical
 * references (`identifier` only) and conditional references (the bundle
 * code resolves them before the write, or fails). References inside
 * `contained` resources are checked like the container's own: a contained
 * resource is stored with it, and its `Type/id` references are as much the
 * writer's claim (its `#id` and `#` references stay alone).
 *
 * Each issue's `expression` is the Reference element's location with its
 * array indices (`Observation.performer[1]`, `Observation.contained[0].subject`),
 * so that a client can tell which of several references failed.
 *
 * What the check may disclose: a resource the caller may not see answers
 * exactly as a missing one (same status, same wording), because a user's
 * lookup goes through its consent filter; the operator sees everything. The
 * rule that a user must not name a Patient it may not see (placing data in
 * that patient's compartment) is the same lookup, and holds whatever the
 * configuration says (see docs/access-control.md).
 *
 * One case is a refusal, not an integrity error: a practitioner naming, as
 * an Appointment's participant, a Patient it may not see is booking for a
 * patient it may not schedule for, and that is 403 as for `$book`
 * (docs/scheduling.md, "Security and audit"). The 403 is decided by the
 * same consent-filtered lookup, so a hidden patient and a missing one both
 * answer it, with one wording: the status tells the caller nothing about
 * whether the patient exists.
 *
 * Cost: one indexed lookup (`StorageOps.exists`) for the distinct targets of
 * a write, never a search.
 *
 * Inside a transaction the lookup runs in the unit of work, so it sees the
 * entries written before; entries planned but not yet written (a POST that
 * another entry names by its fullUrl) count as present through
 * `plannedTargets`, since the transaction fails as a whole if one of them
 * does. Batch entries are independent (http.html#brules): each is checked
 * against what is stored when it runs, and a bad one fails alone.
 */
import type { ReferentialIntegrity } from '../config';
import type { RequestContext } from '../context';
import { FhirError, unprocessable, type Issue } from '../errors';
import type { AnyResource } from '../fhir/types';
import { normalizeReference } from '../search/reference';
import type { ResourceKey, StorageOps } from '../storage/port';

export const defaultReferentialIntegrity: ReferentialIntegrity = { mode: 'strict', exemptTypes: [] };

/** A local reference found in a resource, with its element path (`Encounter.subject`). */
interface FoundReference extends ResourceKey {
  path: string;
}

/** Every literal local reference (`Type/id`, relative or under the server's base) in `value`, contained resources included. */
function localReferences(value: unknown, path: string, baseUrl: string): FoundReference[] {
  const found: FoundReference[] = [];
  collectReferences(value, [path], baseUrl, found);
  return found;
}

/**
 * The walk of localReferences. `at` holds the location's pieces (`Observation`,
 * `.performer`, `[1]`), joined only where a reference is found: most nodes
 * hold none, and a location string per node was most of the walk's cost.
 */
function collectReferences(value: unknown, at: string[], baseUrl: string, found: FoundReference[]): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || typeof item !== 'object') continue;
      at.push(`[${i}]`);
      collectReferences(item, at, baseUrl, found);
      at.pop();
    }
  } else if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    // A body parsed from JSON has only own keys: for...in visits what Object.entries would, in the same order.
    for (const key in node) {
      const item = node[key];
      if (key === 'reference' && typeof item === 'string') {
        const { targetType, targetId } = normalizeReference(item, baseUrl);
        if (targetType && targetId) found.push({ path: at.join(''), resourceType: targetType, id: targetId });
      } else if (item !== null && typeof item === 'object') {
        at.push(`.${key}`);
        collectReferences(item, at, baseUrl, found);
        at.pop();
      }
    }
  }
}

/** The wording of a reference that resolves to nothing the caller may see (missing, deleted or hidden alike). */
export function unresolvedIssue(path: string, reference: string): Issue {
  return { severity: 'error', code: 'not-found', diagnostics: `The reference ${reference} names no resource on this server`, expression: [path] };
}

/**
 * The lookup's context: a user sees through its consent filter (a hidden
 * target must read as a missing one), the operator and systems see all.
 */
function lookupContext(ctx: RequestContext): RequestContext {
  if (ctx.principal.kind === 'user' && ctx.consentAccess) return { ...ctx, access: ctx.consentAccess };
  return { ...ctx, access: undefined };
}

/**
 * The references the configuration asks to check, plus, for a user other
 * than a patient (whose scopes hold it to its own compartment), every
 * Patient it names: that rule is about privacy, not integrity, so
 * `off` and the exempt types do not lift it.
 */
const guardsPatients = (ctx: RequestContext): boolean => ctx.principal.kind === 'user' && ctx.principal.actorType !== 'Patient' && ctx.consentAccess !== undefined;

/** A Patient named as an Appointment's participant: the patient the Appointment books. */
const isAppointmentPatient = (ref: FoundReference): boolean => ref.resourceType === 'Patient' && /^Appointment\.participant\[\d+\]\.actor$/.test(ref.path);

/** The refusal of a booking for a patient the caller may not see; one wording for hidden and missing alike (no existence oracle). */
function refusedPatient(path: string): FhirError {
  return FhirError.of(403, 'forbidden', 'The caller may not schedule for the Appointment\'s patient', [path]);
}

function referencesToCheck(ctx: RequestContext, written: AnyResource, policy: ReferentialIntegrity): FoundReference[] {
  const guardsPatient = guardsPatients(ctx);
  const self = `${written.resourceType}/${written.id}`;
  return localReferences(written, written.resourceType, ctx.baseUrl).filter((ref) => {
    // A resource naming itself names what this write stores.
    if (`${ref.resourceType}/${ref.id}` === self) return false;
    if (guardsPatient && ref.resourceType === 'Patient') return true;
    return policy.mode === 'strict' && !policy.exemptTypes.includes(ref.resourceType);
  });
}

/** 422 when a reference of `written` names nothing the caller may see; one lookup for all its distinct targets. */
export async function assertReferencesResolve(
  ops: StorageOps,
  ctx: RequestContext,
  written: AnyResource,
  policy: ReferentialIntegrity = defaultReferentialIntegrity,
  plannedTargets: ReadonlySet<string> = new Set(),
): Promise<void> {
  const references = referencesToCheck(ctx, written, policy);
  if (references.length === 0) return;
  const distinct = new Map<string, ResourceKey>();
  for (const ref of references) {
    const key = `${ref.resourceType}/${ref.id}`;
    if (!plannedTargets.has(key)) distinct.set(key, { resourceType: ref.resourceType, id: ref.id });
  }
  const found = distinct.size > 0 ? await ops.exists(lookupContext(ctx), [...distinct.values()]) : new Set<string>();
  const unresolved = references.filter((ref) => distinct.has(`${ref.resourceType}/${ref.id}`) && !found.has(`${ref.resourceType}/${ref.id}`));
  const refused = guardsPatients(ctx) ? unresolved.find(isAppointmentPatient) : undefined;
  if (refused) throw refusedPatient(refused.path);
  if (unresolved.length > 0) throw unprocessable(unresolved.map((ref) => unresolvedIssue(ref.path, `${ref.resourceType}/${ref.id}`)));
}
