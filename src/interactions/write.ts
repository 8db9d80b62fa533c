import { randomUUID } from 'node:crypto';
import type { Operation } from 'fast-json-patch';
import type { RequestContext } from '../context';
import { badRequest, FhirError } from '../errors';
import type { AnyResource } from '../fhir/types';
import type { WriteChange, WriteRulesContext } from '../security/write-rules';
import type { StorageOps, VersionRecord } from '../storage/port';
import { prepareSubscriptionWrite } from '../subscriptions/subscription-writes';
import { atMostOne, criteriaGuard, findMatches, type QueryPairs } from './conditional';
import { applyJsonPatch } from '../fhir/json-patch';
import { assertReferencesResolve } from './reference-integrity';
import { readResource } from './read';
import { assertResourceType, assertValid, resourceBody, withoutServerMeta } from './resource-body';
import type { Services } from './services';

export interface WriteOutcome {
  /** 201 created, 200 updated (or, for a conditional create, found). */
  status: 200 | 201;
  record: VersionRecord;
}

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function assertValidId(id: string): void {
  if (!ID_PATTERN.test(id)) throw badRequest(`"${id}" is not a valid resource id`, ['id']);
}

/** `If-Match: W/"3"` to version 3; a malformed header is 400, not silently ignored. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"([1-9]\d{0,15})"\s*$/.exec(header);
  if (!match) throw badRequest(`If-Match must be an ETag such as W/"1", got ${header}`);
  return Number(match[1]);
}

/**
 * The rules admission set for this write (the Consent write rule), run where
 * the target is known. A user's context always has them: one without came
 * around admission, and is refused rather than written unchecked.
 */
async function passWriteRules(ops: StorageOps, ctx: WriteRulesContext, kind: WriteChange['kind'], resourceType: string, id: string, written?: AnyResource): Promise<void> {
  if (ctx.writeRules) return ctx.writeRules(ops, ctx, { kind, resourceType, id, ...(written ? { written } : {}) });
  if (ctx.principal.kind !== 'operator') throw new Error('A write by a user reached the write interaction without admission');
}

/**
 * The checks of one resource type that need the writer and the store
 * (a Subscription: its criteria, endpoint, owner and status), run through
 * `ops` once the write rules have passed; other types are stored as they are.
 */
function typeRules(services: Services, ops: StorageOps, ctx: RequestContext, resource: AnyResource): Promise<AnyResource> | AnyResource {
  if (resource.resourceType !== 'Subscription') return resource;
  return prepareSubscriptionWrite(services.subscriptionEndpoints ?? { allowlist: [] }, ops, ctx, resource, services.subscriptionsUnavailable);
}

/**
 * The body a create or update validates and stores: the sent one without the
 * server's meta, with its id. The loader validates these ahead, on another
 * thread (scripts/load-pipeline.ts), and must build them exactly the same way.
 */
export function storedBody(type: string, body: unknown, id: string): AnyResource {
  return { ...withoutServerMeta(resourceBody(body, type)), id };
}

/** Validates a body for `type` with the given id, ready to store. */
function prepare(services: Services, type: string, body: unknown, id: string): AnyResource {
  const resource = storedBody(type, body, id);
  assertValid(services.validator, resource);
  return resource;
}

export async function createResource(
  services: Services,
  ctx: RequestContext,
  type: string,
  body: unknown,
  ifNoneExist?: QueryPairs,
  /** A transaction bundle chooses the id first, to rewrite the references to the new resource before any write. */
  assignedId: string = randomUUID(),
): Promise<WriteOutcome> {
  assertResourceType(type);
  // The spec has the server ignore a client id on create.
  const validated = prepare(services, type, body, assignedId);
  await passWriteRules(services.storage, ctx, 'create', type, validated.id!, validated);
  const resource = await typeRules(services, services.storage, ctx, validated);
  await checkReferences(services, services.storage, ctx, resource);
  if (!ifNoneExist) return { status: 201, record: await services.storage.create(ctx, resource) };
  // Search and create in one unit of work, so two racing requests cannot both create.
  return services.storage.unitOfWork(async (tx) => {
    const existing = atMostOne(await findMatches(tx, ctx, type, ifNoneExist), 'create');
    if (existing) return { status: 200, record: existing };
    return { status: 201, record: await tx.create(ctx, resource) };
  }, { guard: criteriaGuard(type, ifNoneExist) });
}

/** The written body's references must resolve (reference-integrity.ts), through `ops`: inside a unit of work, its own. */
function checkReferences(services: Services, ops: StorageOps, ctx: RequestContext, resource: AnyResource): Promise<void> {
  return assertReferencesResolve(ops, ctx, resource, services.referentialIntegrity, services.plannedTargets);
}

async function storeUpdate(services: Services, ops: StorageOps, ctx: RequestContext, validated: AnyResource, expectedVersion?: number): Promise<WriteOutcome> {
  await passWriteRules(ops, ctx, 'update', validated.resourceType, validated.id!, validated);
  const resource = await typeRules(services, ops, ctx, validated);
  await checkReferences(services, ops, ctx, resource);
  const { record, created } = await ops.update(ctx, resource, { expectedVersion });
  return { status: created ? 201 : 200, record };
}

export async function updateResource(
  services: Services,
  ctx: RequestContext,
  type: string,
  id: string,
  body: unknown,
  ifMatch?: string,
): Promise<WriteOutcome> {
  assertResourceType(type);
  assertValidId(id);
  const bodyId = resourceBody(body, type).id;
  if (bodyId === undefined) throw badRequest('An update must carry the resource id in the body', ['id']);
  if (bodyId !== id) throw badRequest(`The body's id "${bodyId}" does not match the URL's id "${id}"`, ['id']);
  const expectedVersion = parseIfMatch(ifMatch);
  return storeUpdate(services, services.storage, ctx, prepare(services, type, body, id), expectedVersion);
}

/** `PUT /Type?criteria`: update the one match, create when none, 412 when many. */
export async function conditionalUpdate(
  services: Services,
  ctx: RequestContext,
  type: string,
  criteria: QueryPairs,
  body: unknown,
): Promise<WriteOutcome> {
  assertResourceType(type);
  const bodyId = resourceBody(body, type).id;
  return services.storage.unitOfWork(async (tx) => {
    const match = atMostOne(await findMatches(tx, ctx, type, criteria), 'update');
    if (match && bodyId !== undefined && bodyId !== match.id) {
      throw badRequest(`The body's id "${bodyId}" is not the id of the resource the criteria match`, ['id']);
    }
    const id = match?.id ?? bodyId ?? randomUUID();
    assertValidId(id);
    const resource = prepare(services, type, body, id);
    return storeUpdate(services, tx, ctx, resource, match?.versionId);
  }, { guard: criteriaGuard(type, criteria) });
}

export async function patchResource(
  services: Services,
  ctx: RequestContext,
  type: string,
  id: string,
  patch: unknown,
  ifMatch?: string,
): Promise<WriteOutcome> {
  const current = await readResource(services, ctx, type, id);
  const expectedVersion = parseIfMatch(ifMatch);
  if (expectedVersion !== undefined && expectedVersion !== current.versionId) {
    throw FhirError.of(412, 'conflict', `If-Match names version ${expectedVersion}, the current version is ${current.versionId}`);
  }
  const patched = applyJsonPatch(current.resource as AnyResource, patch as Operation[]);
  if (patched.resourceType !== type || patched.id !== id) {
    throw FhirError.of(422, 'processing', 'A patch must not change the resource type or id');
  }
  // Writing against the version that was patched means a concurrent update makes this one 412, not lost.
  return storeUpdate(services, services.storage, ctx, prepare(services, type, patched, id), current.versionId);
}

/** The tombstone written, or undefined when there was nothing to delete (also a success). */
export async function deleteResource(
  services: Services,
  ctx: RequestContext,
  type: string,
  id: string,
  ifMatch?: string,
): Promise<VersionRecord | undefined> {
  assertResourceType(type);
  await passWriteRules(services.storage, ctx, 'delete', type, id);
  return services.storage.delete(ctx, type, id, { expectedVersion: parseIfMatch(ifMatch) });
}

export async function conditionalDelete(
  services: Services,
  ctx: RequestContext,
  type: string,
  criteria: QueryPairs,
): Promise<VersionRecord | undefined> {
  assertResourceType(type);
  return services.storage.unitOfWork(async (tx) => {
    const match = atMostOne(await findMatches(tx, ctx, type, criteria), 'delete');
    if (match) await passWriteRules(tx, ctx, 'delete', type, match.id);
    return match ? tx.delete(ctx, type, match.id, { expectedVersion: match.versionId }) : undefined;
  }, { guard: criteriaGuard(type, criteria) });
}
