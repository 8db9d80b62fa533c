import type { RequestContext } from '../context';
import { FhirError, gone, notFound } from '../errors';
import type { VersionRecord } from '../fhir/version-record';
import { assertResourceType } from './resource-body';
import type { Services } from './services';

/** The current version of a resource: 404 when unknown, 410 when deleted. */
export async function readResource(services: Services, ctx: RequestContext, type: string, id: string): Promise<VersionRecord> {
  assertResourceType(type);
  const record = await services.storage.read(ctx, type, id);
  if (!record) throw notFound(`${type}/${id} is not known`);
  if (record.deleted) throw deletedError(record);
  return record;
}

export async function vreadResource(services: Services, ctx: RequestContext, type: string, id: string, vid: string): Promise<VersionRecord> {
  assertResourceType(type);
  const versionId = parseVersionId(vid);
  const record = versionId === undefined ? undefined : await services.storage.vread(ctx, type, id, versionId);
  if (!record) throw notFound(`${type}/${id}/_history/${vid} is not known`);
  if (record.deleted) throw deletedError(record);
  return record;
}

function deletedError(record: VersionRecord): FhirError {
  const error = gone(`${record.resourceType}/${record.id} was deleted`);
  // The tombstone's version lets a client see which version deleted it.
  error.headers.ETag = `W/"${record.versionId}"`;
  return error;
}

/** Versions are positive integers; anything else names no version. */
export function parseVersionId(raw: string): number | undefined {
  return /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : undefined;
}
