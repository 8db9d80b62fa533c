import type { AnyResource } from './fhir/types';
import type { Condition } from './search/query';
import type { StorageOps } from './storage/port';
import type { Scope } from './security/scopes/scope';

/**
 * Who is asking, and why. Built once per request by the HTTP layer and passed,
 * unchanged, through every layer down to storage; the security issue fills in
 * the principal and the access filter without changing any signature.
 */
export interface RequestContext {
  /** Correlates the log line, the AuditEvent and the response. */
  readonly requestId: string;
  /** `BASE_URL`, without a trailing slash: used for Location, fullUrl and links. */
  readonly baseUrl: string;
  /** The authenticated caller. */
  readonly principal: Principal;
  /**
   * What the caller may see, as search conditions the storage applies inside
   * its queries; absent means no restriction (the operator).
   */
  readonly access?: AccessFilter;
  /**
   * For a user's write: the consent layer's filter alone (no scopes), which
   * decides whether a Patient the written body names is one the caller may
   * see (src/security/write-visibility.ts). The scopes govern the write itself.
   */
  readonly consentAccess?: AccessFilter;
  /** One clock reading per request, so that every step agrees on "now". */
  readonly now: Date;
  /**
   * Set by admission when the request is honoured by break-the-glass
   * (ETREAT by a clinician): its successful responses say so (`X-Break-Glass`).
   */
  readonly breakGlass?: boolean;
  /**
   * The rules a write must pass once its target is known, set by admission
   * (src/interactions/dispatch.ts) and called by the write interactions
   * with the unit of work they write in, just before they store.
   */
  readonly writeRules?: WriteRules;
}

/** One write about to be stored: a create, update or patch carries the new body, a delete none. */
export interface WriteChange {
  /** A create has no stored target yet; an update (or patch) and a delete do. */
  readonly kind: 'create' | 'update' | 'delete';
  readonly resourceType: string;
  readonly id: string;
  readonly written?: AnyResource;
}

/** Throws (403) when the change may not be made; `ops` reads what is stored, inside the write's unit of work. */
export type WriteRules = (ops: StorageOps, ctx: RequestContext, change: WriteChange) => Promise<void>;

/**
 * The operator sees everything without a consent filter: internal work
 * (`systemContext`), `AUTH_MODE=off`, or a token with only `system/` scopes
 * and no `fhirUser` (then `token` is set: its scopes still apply, and the
 * interaction is audited).
 */
export interface OperatorPrincipal {
  readonly kind: 'operator';
  readonly token?: TokenGrant;
}

/** What a verified access token says about its bearer (src/security/auth/). */
export interface TokenGrant {
  /** `iss` of the token. */
  readonly issuer: string;
  /** The OAuth client (`client_id`, else `azp`, else `sub` for Backend Services). */
  readonly clientId?: string;
  /** `sub` of the token: with the issuer, who a Bulk Data export job belongs to. */
  readonly subject?: string;
  readonly scopes: readonly Scope[];
}

/** The kinds of actor a `fhirUser` claim may name. */
export type ActorType = 'Patient' | 'RelatedPerson' | 'Practitioner' | 'PractitionerRole' | 'Organization';

/** A person or organization acting through a token: scopes, compartment and consent all apply. */
export interface UserPrincipal {
  readonly kind: 'user';
  readonly token: TokenGrant;
  /** Relative reference, e.g. `Practitioner/123`. */
  readonly fhirUser: string;
  readonly actorType: ActorType;
  /** The `patient` launch context (an id): `patient/` scopes are confined to this compartment. */
  readonly patient?: string;
  /** A v3-ActReason code: the token's `purpose_of_use`, else the actor's default. */
  readonly purpose: string;
}

export type Principal = OperatorPrincipal | UserPrincipal;

export function systemContext(baseUrl: string, requestId = 'system'): RequestContext {
  return { requestId, baseUrl, principal: { kind: 'operator' }, now: new Date() };
}

/**
 * The access layer's view of one request, compiled to the search IR so both
 * adapters enforce it with the code that runs searches.
 */
export interface AccessFilter {
  /**
   * Conditions (ANDed) a resource of this type must meet to be visible to
   * this request; an empty list means every resource of the type is visible.
   */
  conditionsFor(resourceType: string): Condition[];
}
