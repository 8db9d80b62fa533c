import type { RequestContext } from '../context';
import type { Resource } from '../fhir/types';
import type { VersionRecord } from '../fhir/version-record';
import type { EntryAudit } from '../security/audit/entry-audits';
import type { RequestGuard } from '../security/request-guard';
import type { RouteClass } from '../security/scopes/classify';
import type { QueryPairs } from './conditional';
import type { Services } from './services';

/** The methods a route answers (HEAD is a GET without the body, answered by the GET route). */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a route takes as its body, so that each edge (an HTTP request, a
 * bundle entry) reads it its own way: a resource (`application/fhir+json`,
 * or `entry.resource`), a JSON Patch (`application/json-patch+json`, or a
 * Binary in a bundle), search parameters (a form, or a Parameters or form
 * Binary in a bundle), or an operation's input (a resource or Parameters).
 */
export type BodyKind = 'none' | 'resource' | 'patch' | 'form' | 'operation';

/** `Prefer: return=` (RFC 7240, http.html#ops). */
export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

/** One request as every route handler receives it, whether it came over HTTP or in a bundle entry. */
export interface ParsedRequest {
  /** As sent: HEAD reaches the GET route. */
  method: string;
  /** The path parameters of the route (`type`, `id`, `vid`, `compartmentType`), decoded. */
  params: Record<string, string | undefined>;
  /** The query string as decoded pairs, in order; a form search's body pairs follow the URL's. */
  query: QueryPairs;
  /** The body, as the route's BodyKind says; undefined when there is none. */
  body?: unknown;
  ifMatch?: string;
  ifNoneExist?: QueryPairs;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  /** `Prefer: return=`. */
  preference: ReturnPreference;
  /** `Prefer: handling=strict`. */
  strict: boolean;
  /** `Idempotency-Key` (an operation that honours one: `$book`); a bundle entry has none. */
  idempotencyKey?: string;
  /** `Prefer: handling=lenient`. */
  lenient?: boolean;
  /** `Prefer: respond-async` (asynchronous request pattern, async.html). */
  respondAsync?: boolean;
  /** The client's address, for what is audited later (a Bulk Data export job). */
  networkAddress?: string;
  /** The id a transaction chose for a create before any entry ran. */
  assignedId?: string;
}

/**
 * What an interaction or operation did, for the response (HTTP or a bundle
 * entry) and for the audit record: nothing downstream reads it back from a
 * serialised body.
 */
export interface InteractionResult {
  status: number;
  /** The version read, written or deleted (a tombstone): ETag, Last-Modified, Location. */
  record?: VersionRecord;
  /** A create or update: the response names the version in Location. */
  wrote?: boolean;
  /** A search or history page, or an operation's answer. */
  body?: Resource;
  /** What an operation's answer drew from, for the audit, when the body is not a Bundle of them. */
  disclosed?: readonly Resource[];
  /** A HEAD: status and headers only. */
  bodiless?: boolean;
  /** An NDJSON answer (an operation's file): sent one resource a line instead of `body` over HTTP. */
  ndjson?: readonly Resource[];
  /** Headers an operation sets (an asynchronous kick-off's Content-Location). */
  headers?: Record<string, string>;
}

/** What the handlers of the route table share: the services, and the bundle's own needs. */
export interface RouteServices extends Services {
  /** MAX_BUNDLE_ENTRIES. */
  maxBundleEntries: number;
}

/**
 * One entry of the route table (src/rest/routes.ts): one interaction or
 * operation at one method and path. What it needs (interaction, permissions)
 * is what admission checks; `changesState` makes a bundle order and check it
 * as a write.
 */
export interface Route extends RouteClass {
  method: RouteMethod;
  /** Relative to the FHIR base, in find-my-way's syntax (`/:type/:id/_history/:vid`). */
  path: string;
  body: BodyKind;
  changesState: boolean;
  /** Needs no token and is not audited (the CapabilityStatement). */
  public?: boolean;
  /** Only answers 405 (the path is known, not with this method): no scope can make it succeed, so admission does not weigh it. */
  methodNotAllowed?: boolean;
  handler(services: RouteServices, ctx: RequestContext, request: ParsedRequest, entries: EntryRunner): Promise<InteractionResult>;
}

/** A route matched to a URL: the route and its path parameters. */
export interface RouteMatch {
  route: Route;
  params: Record<string, string | undefined>;
}

/** Finds the route of a method and path (relative to the base, query excluded). */
export interface RouteFinder {
  find(method: string, path: string): RouteMatch | undefined;
}

/** What the bundle route needs to run its entries through the same routes and admission as REST calls. */
export interface EntryRunner {
  readonly router: RouteFinder;
  /** Receives one audit record per entry. */
  readonly onEntry?: (audit: EntryAudit) => void;
  readonly guard?: RequestGuard;
}
