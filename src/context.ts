import type { Condition } from './fhir/search-ir';

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
   * The caller's access filter for another permission than the one admission
   * built `access` for, set by admission: an operation that reads and
   * searches besides what its route checks (`$populate` reads with `r` and
   * searches with `s`, `$check-in` is admitted as an update) filters those
   * reads as a read or a search of the caller would be.
   */
  readonly accessFor?: (permission: Permission) => Promise<AccessFilter | undefined>;
  /**
   * The consent layer's filter alone (no scopes) for a permission, set by
   * admission: "may the caller see this patient under the consent rules?"
   * whatever its scopes on Patient (an operation that books for a patient
   * asks it; docs/scheduling.md). Undefined: no consent layer restricts it.
   */
  readonly consentFor?: (permission: Permission) => Promise<AccessFilter | undefined>;
}

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

/** SMART permission letters, in the order a v2 scope writes them. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** `patient/`, `user/` or `system/`: whose data the scope reaches. */
export type ScopeContext = 'patient' | 'user' | 'system';

/**
 * One granted SMART clinical scope
 * (http://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
 */
export interface Scope {
  /** As written in the token, for the audit record and the 403 message. */
  readonly text: string;
  readonly context: ScopeContext;
  /** A resource type, or `*` for every type. */
  readonly resourceType: string;
  readonly permissions: ReadonlySet<Permission>;
  /**
   * A granular scope's query (`?category=laboratory`) as search conditions on
   * `resourceType`; absent for a plain scope.
   */
  readonly where?: readonly Condition[];
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
