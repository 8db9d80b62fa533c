/**
 * Who may submit (or correct, or cancel) a Claim: the operator, or a
 * provider that is the Claim's `provider`, as the practitioner itself, one
 * of its roles or their organization, or the organization a client acts
 * for (the consent layer's identities, docs/access-control.md), holding
 * Claim create rights in a `user/` or `system/` scope. Everyone else: 403.
 */
import type { RequestContext, UserPrincipal } from '../context';
import { FhirError } from '../errors';
import { localReference, resolveActor } from '../security/consent';
import type { StorageOps } from '../storage/port';

const PROVIDER_ACTORS: ReadonlySet<string> = new Set(['Practitioner', 'PractitionerRole', 'Organization']);

const forbidden = (why: string) => FhirError.of(403, 'forbidden', `This Claim may not be submitted: ${why}`);

/** `user/Claim.c`, `system/Claim.c` or a wildcard: a `patient/` scope never makes a provider. */
function mayCreateClaims(principal: UserPrincipal): boolean {
  return principal.token.scopes.some(
    (s) => s.context !== 'patient' && (s.resourceType === 'Claim' || s.resourceType === '*') && s.permissions.has('c') && s.where === undefined,
  );
}

/** The identities of the caller when it may submit for `provider`; throws 403 otherwise. */
export async function assertSubmitter(
  ops: StorageOps,
  ctx: RequestContext,
  provider: string | undefined,
  what = 'the caller is not its provider',
): Promise<void> {
  const principal = ctx.principal;
  if (principal.kind === 'operator') return;
  if (!PROVIDER_ACTORS.has(principal.actorType)) throw forbidden('only providers submit Claims');
  if (!mayCreateClaims(principal)) throw forbidden('the token grants no user/ or system/ Claim create rights');
  const target = localReference(provider, ctx.baseUrl);
  const actor = await resolveActor(ops, { ...ctx, access: undefined }, { fhirUser: principal.fhirUser });
  if (target === undefined || !actor.identities.has(target)) throw forbidden(what);
}
