import type { RequestContext } from '../context';
import type { Parameters, Resource } from '../fhir/types';
import type { QueryPairs } from '../interactions/conditional';
import type { Services } from '../interactions/services';
import type { Permission } from '../security/scopes/scope';

/** Where an operation is invoked (operations.html#levels): `[base]/$op`, `[base]/Type/$op`, `[base]/Type/id/$op`. */
export type OperationLevel = 'system' | 'type' | 'instance';

/** The FHIR types a parameter may have here (OperationDefinition.parameter.type), and how a URL value becomes `value[x]`. */
export type ParameterType = 'string' | 'code' | 'boolean' | 'integer' | 'positiveInt' | 'reference' | 'dateTime' | 'instant' | 'uri' | 'Coding' | 'Resource' | 'part';

/** One input parameter (OperationDefinition.parameter with use `in`). */
export interface OperationParameter {
  name: string;
  type: ParameterType;
  min: 0 | 1;
  /** `*` or a whole number. */
  max: '*' | number;
  /** For a `Resource` parameter: the type the resource must be (OperationDefinition.parameter.type names it). */
  resourceType?: string;
  /** For a `part` parameter: its parts (OperationDefinition.parameter.part). */
  parts?: readonly OperationParameter[];
  documentation?: string;
}

/** What an operation's handler receives: where it runs and its input, read from the body, the query string or a form. */
export interface OperationInvocation {
  /** The URL's type; absent at system level. */
  resourceType?: string;
  /** The URL's id; absent unless instance level. */
  id?: string;
  /**
   * The input as a Parameters resource: the body's Parameters, or the
   * declared parameters of the query string (GET) or of a form POST as
   * `value[x]` parts, already checked against their declarations.
   */
  parameters: Parameters;
  /** The body as sent (a Parameters, or the resource itself for `$validate`); undefined for a GET or a form POST. */
  resource?: unknown;
  /** The query string, for the operations that page like a search (`$everything`). */
  query: QueryPairs;
  /** The `Idempotency-Key` header, for an operation that honours one (`$book`). */
  idempotencyKey?: string;
  /** `Prefer: respond-async` and `handling=lenient`, for the asynchronous operations (`$export`). */
  prefer?: { respondAsync: boolean; lenient: boolean };
  networkAddress?: string;
}

/** What an operation answers: a Bundle, a Parameters, an OperationOutcome... always 200 unless it throws. */
export interface OperationAnswer {
  status?: number;
  body: Resource;
  /**
   * The resources the answer drew from, for the audit record, when the body
   * is not a Bundle of them (a Parameters holding a populated form names the
   * patient's data it was filled from).
   */
  disclosed?: Resource[];
  /**
   * An NDJSON file (application/fhir+ndjson) instead of `body` over HTTP:
   * one resource a line (`$bulk-publish`'s files). A bundle entry gets `body`.
   */
  ndjson?: readonly Resource[];
  headers?: Record<string, string>;
}

/**
 * An operation, as data (operations.html, OperationDefinition): the route
 * table builds its routes from it, admission its permissions and write
 * ordering, the CapabilityStatement its entry. Adding an operation is
 * writing one of these and listing it in the registry (registry.ts).
 */
export interface OperationDescriptor {
  /** Without the `$`. */
  code: string;
  /**
   * Its OperationDefinition: the canonical URL of the specification's (or
   * an IG's) for an operation defined there; for one Concord defines,
   * `OperationDefinition/<id>`, served under this server's base
   * (operation-definition.ts generates both from this descriptor).
   */
  definition: string;
  /** The types it is defined on; `*` for every type. */
  resourceTypes: readonly string[] | '*';
  /**
   * True when it writes: in a bundle it is admitted, ordered and checked
   * as a write, not with the reads (OperationDefinition.affectsState).
   */
  affectsState: boolean;
  /**
   * The levels at which GET invokes it: only an operation that changes
   * nothing and takes only primitive parameters may allow it (operations.html#request).
   */
  get: readonly OperationLevel[];
  /** The levels at which POST invokes it. */
  post: readonly OperationLevel[];
  /**
   * The SMART permissions it needs on the URL's type, per level; an empty
   * list means any grant on the type (the operation decides the rest itself).
   */
  permissions: Readonly<Partial<Record<OperationLevel, readonly Permission[]>>>;
  parameters: readonly OperationParameter[];
  /** Said in the CapabilityStatement beside the definition. */
  documentation?: string;
  /** What it answers when that is one resource: the `return` out parameter of its OperationDefinition. */
  returns?: { type: string; documentation?: string };
  handler(services: Services, ctx: RequestContext, invocation: OperationInvocation): Promise<OperationAnswer>;
}
