import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import type { Binary, Parameters } from '../fhir/types';
import type { EntryRequest } from './bundle-request';
import { parseCriteria, type QueryPairs } from './conditional';
import type { EntryReturn } from './bundle-response';
import type { EntryRunner, InteractionResult, ParsedRequest, RouteServices } from './route';

/** What one entry did: the response entry is built from it. */
export type EntryResult = InteractionResult;

const JSON_PATCH = 'application/json-patch+json';
const FORM = 'application/x-www-form-urlencoded';

/**
 * A PATCH entry carries its JSON Patch in a Binary (http.html#patch: the
 * body of a PATCH in a bundle is a Binary when the format is not a resource).
 */
export function jsonPatchOf(request: EntryRequest): unknown {
  const binary = request.resource as { resourceType?: string; contentType?: string; data?: string };
  const where = `Bundle.entry[${request.index}].resource`;
  if (binary.resourceType !== 'Binary' || binary.contentType !== JSON_PATCH || typeof binary.data !== 'string') {
    throw badRequest(`A PATCH entry needs a Binary with contentType ${JSON_PATCH} and the patch in data`, [where]);
  }
  try {
    return JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
  } catch {
    throw badRequest('The Binary of a PATCH entry does not hold JSON', [`${where}.data`]);
  }
}

/** The value of a Parameters part as a search value: its one primitive `value[x]`. */
function primitiveValue(part: NonNullable<Parameters['parameter']>[number]): string | undefined {
  const entry = Object.entries(part).find(([key, value]) => key.startsWith('value') && ['string', 'number', 'boolean'].includes(typeof value));
  return entry && String(entry[1]);
}

/**
 * The parameters a `POST Type/_search` entry carries beside its URL's
 * (http.html#transaction: a search in a bundle has them in the URL, or in a
 * Parameters or form-encoded Binary resource); like the REST form body,
 * they combine with the URL's (AND).
 */
function bodyPairs(request: EntryRequest): QueryPairs {
  const where = `Bundle.entry[${request.index}].resource`;
  const body = request.resource as Parameters | Binary | undefined;
  if (body === undefined) return [];
  if (body?.resourceType === 'Parameters') {
    return (body.parameter ?? []).map((part, i): [string, string] => {
      const value = primitiveValue(part);
      if (typeof part.name !== 'string' || value === undefined) throw badRequest('A search parameter needs a name and a primitive value[x]', [`${where}.parameter[${i}]`]);
      return [part.name, value];
    });
  }
  if (body?.resourceType === 'Binary' && body.contentType === FORM && typeof body.data === 'string') {
    return parseCriteria(Buffer.from(body.data, 'base64').toString('utf8'));
  }
  throw badRequest(`A POST _search entry takes its parameters in the url, a Parameters resource or a Binary of ${FORM}`, [where]);
}

/** An operation's form in a bundle: a Binary of form-encoded fields, as a PATCH's patch is a Binary. */
function operationForm(request: EntryRequest): QueryPairs | undefined {
  const body = request.resource as Binary | undefined;
  if (request.match.route.body !== 'operation' || body?.resourceType !== 'Binary' || body.contentType !== FORM || typeof body.data !== 'string') return undefined;
  return parseCriteria(Buffer.from(body.data, 'base64').toString('utf8'));
}

/**
 * The body of an entry as its route takes it: the resource, a PATCH's
 * decoded patch, or no body (a search's parameters, and an operation's
 * form fields, join the query).
 */
function entryBody(request: EntryRequest): unknown {
  switch (request.match.route.body) {
    case 'resource':
      return request.resource;
    case 'operation':
      return operationForm(request) ? undefined : request.resource;
    case 'patch':
      return jsonPatchOf(request);
    default:
      return undefined;
  }
}

/**
 * The entry as its route's handler receives it: the same parsed request
 * the REST call would have produced. Searches in a bundle are lenient, as
 * `Prefer: handling` is not an entry element.
 */
export function parsedEntry(request: EntryRequest, preference: EntryReturn, assignedId?: string): ParsedRequest {
  const form = request.match.route.body === 'form' ? bodyPairs(request) : operationForm(request);
  const query = form ? [...request.query, ...form] : request.query;
  const body = entryBody(request);
  return {
    method: request.method,
    params: request.match.params,
    query,
    ...(body !== undefined ? { body } : {}),
    ...(request.ifMatch !== undefined ? { ifMatch: request.ifMatch } : {}),
    ...(request.ifNoneExist !== undefined ? { ifNoneExist: request.ifNoneExist } : {}),
    ...(request.ifNoneMatch !== undefined ? { ifNoneMatch: request.ifNoneMatch } : {}),
    ...(request.ifModifiedSince !== undefined ? { ifModifiedSince: request.ifModifiedSince } : {}),
    preference,
    strict: false,
    ...(assignedId !== undefined ? { assignedId } : {}),
  };
}

/**
 * Runs one entry through its route's handler, the one its REST call runs,
 * so every rule the interaction enforces (validation, versions,
 * conditionals) applies entry by entry. A HEAD answers status and version
 * only (http.html#read). `assignedId` is the id a transaction chose for a
 * create beforehand.
 */
export async function executeEntry(
  services: RouteServices,
  ctx: RequestContext,
  request: EntryRequest,
  entries: EntryRunner,
  preference: EntryReturn,
  assignedId?: string,
): Promise<EntryResult> {
  const result = await request.match.route.handler(services, ctx, parsedEntry(request, preference, assignedId), entries);
  return request.method === 'HEAD' ? { ...result, body: undefined, bodiless: true } : result;
}
