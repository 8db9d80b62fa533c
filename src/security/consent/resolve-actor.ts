/** Builds the ConsentActor of a request from its fhirUser, reading roles and organization types. */
import type { Organization, PractitionerRole } from 'fhir/r4';
import type { RequestContext } from '../../context';
import type { StorageOps } from '../../storage/port';
import { nextTimeBoundary, type TimeRange } from './active-consents';
import { actorKind, type ConsentActor } from './actor';
import { codingsName } from './coded';
import { referenceParam } from './conditions';
import { localReference, periodCovers, periodRange } from './provision-static';
import { readCurrent, searchAll } from './storage-queries';
import { ORGANIZATION_TYPE_SYSTEM } from './vocabulary';

export interface ActorClaims {
  /** The token's fhirUser (relative or absolute). */
  fhirUser: string;
  /** The organization the client acts for (its registration's fhirUser), when it differs. */
  clientOrganization?: string;
}

const roleInForce = (role: PractitionerRole, now: number) => role.active !== false && periodCovers(role.period, now);

function organizationHasType(org: Organization | undefined, code: string): boolean {
  return (org?.type ?? []).some((t) => codingsName(t.coding, ORGANIZATION_TYPE_SYSTEM, code));
}

export async function resolveActor(ops: StorageOps, ctx: RequestContext, claims: ActorClaims): Promise<ConsentActor> {
  return (await resolveActorUntil(ops, ctx, claims)).actor;
}

/** The actor, and the first instant after the request's clock at which a role's period could change it. */
export async function resolveActorUntil(ops: StorageOps, ctx: RequestContext, claims: ActorClaims): Promise<{ actor: ConsentActor; changesAt: number }> {
  const reference = localReference(claims.fhirUser, ctx.baseUrl) ?? claims.fhirUser;
  const kind = actorKind(reference);
  const identities = new Set([reference]);
  const client = localReference(claims.clientOrganization, ctx.baseUrl);
  if (client) identities.add(client);
  const now = ctx.now.getTime();
  const periods: TimeRange[] = [];
  const consider = (role: PractitionerRole) => {
    if (role.period) periods.push(periodRange(role.period));
    if (roleInForce(role, now)) addRole(role);
  };
  const addRole = (role: PractitionerRole) => {
    identities.add(`PractitionerRole/${role.id}`);
    for (const text of [role.organization?.reference, role.practitioner?.reference]) {
      const ref = localReference(text, ctx.baseUrl);
      if (ref) identities.add(ref);
    }
  };
  if (kind === 'Practitioner') {
    const roles = await searchAll<PractitionerRole>(ops, ctx, 'PractitionerRole', [referenceParam('practitioner', [reference])]);
    roles.forEach(consider);
  }
  if (kind === 'PractitionerRole') {
    const role = await readCurrent<PractitionerRole>(ops, ctx, reference);
    if (role) consider(role);
  }
  const organization = kind === 'Organization' ? await readCurrent<Organization>(ops, ctx, reference) : undefined;
  const actor: ConsentActor = {
    reference,
    kind,
    identities,
    providerOrganization: organizationHasType(organization, 'prov'),
    payer: organizationHasType(organization, 'pay'),
  };
  return { actor, changesAt: nextTimeBoundary(periods, now) };
}
