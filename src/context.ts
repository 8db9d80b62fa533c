import type { Condition } from './search/query';

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
  /** One clock reading per request, so that every step agrees on "now". */
  readonly now: Date;
}

/**
 * Until SMART security lands every caller is the operator: unauthenticated
 * access to everything, which is the documented development default.
 */
export type Principal = { readonly kind: 'operator' };

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
