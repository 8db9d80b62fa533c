import type { AccessFilter, Principal } from '../context';
import type { Condition } from '../search/query';
import type { Permission } from './scopes/scope';

/**
 * One layer's contribution to what a request may see, as search conditions
 * per resource type (ANDed); undefined or an empty list: this layer does not
 * restrict the type. The scope layer is one part; the consent layer
 * (src/security/consent/) is another.
 */
export interface AccessPart {
  conditionsFor(resourceType: string): Condition[] | undefined;
}

/** What a layer is told about the request it filters. */
export interface AccessRequest {
  principal: Principal;
  /** The permission the interaction exercises: `r` for reads, `s` for searches, `c`/`u`/`d` for writes. */
  permission: Permission;
  requestId: string;
  now: Date;
}

/**
 * How a layer plugs in: given the request, its part (or undefined when it
 * does not restrict this principal). May read the database first (a consent
 * layer looks up the patient's Consents); it is called once per request,
 * so a change to that data takes effect on the next request.
 */
export type AccessPartSource = (request: AccessRequest) => AccessPart | undefined | Promise<AccessPart | undefined>;

/**
 * The access filter of a request: every part's conditions ANDed, so each
 * layer can only narrow what the others allow. Undefined (no filter at all)
 * when no part restricts anything.
 */
export function composeAccess(_principal: Principal, parts: ReadonlyArray<AccessPart | undefined>): AccessFilter | undefined {
  const present = parts.filter((part): part is AccessPart => part !== undefined);
  if (present.length === 0) return undefined;
  return {
    conditionsFor: (resourceType) => present.flatMap((part) => part.conditionsFor(resourceType) ?? []),
  };
}

/** Runs every source for the request and composes what they return. */
export async function accessFor(request: AccessRequest, sources: readonly AccessPartSource[]): Promise<AccessFilter | undefined> {
  const parts = await Promise.all(sources.map((source) => source(request)));
  return composeAccess(request.principal, parts);
}
