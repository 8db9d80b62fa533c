import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import type { Bundle, Resource } from '../fhir/types';
import type { VersionRecord } from '../fhir/version-record';
import { isReadOnlyPost, unsupportedRequest, type EntryRequest } from './bundle-request';
import { readOnlyPostEntry } from './bundle-operations';
import { history } from './history';
import { readResource, vreadResource } from './read';
import { search, unsupportedCompartment } from './search';
import { patientEverything } from '../operations/everything';
import { SUPPORTED_COMPARTMENTS } from '../search/compartment';
import type { Services } from './services';
import { conditionalDelete, conditionalUpdate, createResource, deleteResource, patchResource, updateResource } from './write';
import { clientCopyIsCurrent } from './conditional-read';

/** What one entry did: the response entry is built from it. */
export interface EntryResult {
  status: number;
  /** The version written, read or deleted (tombstone): gives etag, lastModified and location. */
  record?: VersionRecord;
  /** True for a create or update, whose response carries a location. */
  wrote?: boolean;
  /** A search or history page. */
  bundle?: Bundle;
  /** What an operation answered when it is not a Bundle (`$validate`'s OperationOutcome, `$evaluate`'s Parameters). */
  body?: Resource;
  /** A HEAD entry: the response entry carries the status and version, never the resource (http.html#read). */
  bodiless?: boolean;
}

const JSON_PATCH = 'application/json-patch+json';

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

async function readOrNotModified(request: EntryRequest, record: Promise<VersionRecord>): Promise<EntryResult> {
  const found = await record;
  return { status: clientCopyIsCurrent(request, found) ? 304 : 200, record: found };
}

/** `Patient/1/$everything`, or a compartment search (`Patient/1/Encounter`, `Patient/1/*`), as their REST routes answer them. */
async function operationOrCompartment(services: Services, ctx: RequestContext, request: EntryRequest): Promise<EntryResult> {
  const [type, id, last, ...rest] = request.segments;
  if (rest.length > 0) throw unsupportedRequest(request);
  if (last === '$everything') return { status: 200, bundle: await patientEverything(services, ctx, type, id, request.query) };
  if (last.startsWith('$')) throw unsupportedRequest(request);
  if (!SUPPORTED_COMPARTMENTS.has(type)) throw unsupportedCompartment(type);
  const compartment = { type: 'Patient' as const, id };
  return { status: 200, bundle: await search(services, ctx, last === '*' ? undefined : last, request.query, { strict: false, compartment }) };
}

async function readEntry(services: Services, ctx: RequestContext, request: EntryRequest): Promise<EntryResult> {
  const [type, id, historyPart, vid, ...rest] = request.segments;
  const noSearch = { strict: false };
  if (rest.length > 0) throw unsupportedRequest(request);
  if (type === undefined) return { status: 200, bundle: await search(services, ctx, undefined, request.query, noSearch) };
  if (type === '_history' && id === undefined) return { status: 200, bundle: await history(services, ctx, {}, request.query) };
  if (id === undefined) return { status: 200, bundle: await search(services, ctx, type, request.query, noSearch) };
  if (id === '_history' && historyPart === undefined) {
    return { status: 200, bundle: await history(services, ctx, { resourceType: type }, request.query) };
  }
  if (historyPart === undefined) return readOrNotModified(request, readResource(services, ctx, type, id));
  if (historyPart !== '_history') return operationOrCompartment(services, ctx, request);
  if (vid === undefined) return { status: 200, bundle: await history(services, ctx, { resourceType: type, id }, request.query) };
  return readOrNotModified(request, vreadResource(services, ctx, type, id, vid));
}

/**
 * Runs one entry through the same interaction functions as the REST routes,
 * so every rule they enforce (validation, versions, conditionals, and the
 * access checks that will come with security) applies entry by entry.
 * `assignedId` is the id a transaction chose for a create beforehand.
 */
export async function executeEntry(services: Services, ctx: RequestContext, request: EntryRequest, assignedId?: string): Promise<EntryResult> {
  const { segments, query } = request;
  const [type, id, ...rest] = segments;
  const instance = type !== undefined && id !== undefined && rest.length === 0;
  const typeOnly = type !== undefined && id === undefined;
  switch (request.method) {
    case 'GET':
      return readEntry(services, ctx, request);
    case 'HEAD':
      return { ...(await readEntry(services, ctx, request)), bundle: undefined, bodiless: true };
    case 'POST': {
      if (isReadOnlyPost(request)) return readOnlyPostEntry(services, ctx, request);
      if (!typeOnly || query.length > 0) throw unsupportedRequest(request);
      const outcome = await createResource(services, ctx, type, request.resource, request.ifNoneExist, assignedId);
      return { ...outcome, wrote: true };
    }
    case 'PUT': {
      if (instance) return { ...(await updateResource(services, ctx, type, id, request.resource, request.ifMatch)), wrote: true };
      if (typeOnly) return { ...(await conditionalUpdate(services, ctx, type, query, request.resource)), wrote: true };
      throw unsupportedRequest(request);
    }
    case 'PATCH': {
      if (!instance) throw unsupportedRequest(request);
      return { ...(await patchResource(services, ctx, type, id, jsonPatchOf(request), request.ifMatch)), wrote: true };
    }
    case 'DELETE': {
      if (instance) return { status: 204, record: await deleteResource(services, ctx, type, id, request.ifMatch) };
      if (typeOnly) return { status: 204, record: await conditionalDelete(services, ctx, type, query) };
      throw unsupportedRequest(request);
    }
  }
}
