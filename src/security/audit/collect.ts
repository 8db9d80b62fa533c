import { systemContext } from '../../context';
import type { AnyResource } from '../../fhir/types';
import type { Storage, VersionRecord } from '../../storage/port';

interface Body {
  resourceType?: string;
  entry?: Array<{ resource?: AnyResource }>;
}

/** The resources a response body carries: the resource itself, or a Bundle's entries; never an OperationOutcome. */
export function resourcesInPayload(payload: unknown): AnyResource[] {
  if (typeof payload !== 'string' || payload === '') return [];
  let body: Body;
  try {
    body = JSON.parse(payload);
  } catch {
    return [];
  }
  return resourcesInBody(body);
}

/**
 * The same from the body object `sendJson` serialised (`sent`), without
 * parsing the payload again: only when the payload is still that
 * serialisation (no hook replaced it); otherwise the payload is parsed.
 */
export function resourcesSent(payload: unknown, sent: { body: unknown; text: string } | undefined): AnyResource[] {
  if (sent === undefined || payload !== sent.text) return resourcesInPayload(payload);
  return typeof sent.body === 'object' && sent.body !== null ? resourcesInBody(sent.body as Body) : [];
}

function resourcesInBody(body: Body): AnyResource[] {
  const isData = (resource: AnyResource | undefined): resource is AnyResource =>
    resource !== undefined && typeof resource.resourceType === 'string' && resource.resourceType !== 'OperationOutcome';
  if (body.resourceType === 'Bundle') return (body.entry ?? []).map((entry) => entry.resource).filter(isData);
  return isData(body as AnyResource) ? [body as AnyResource] : [];
}

/**
 * The stored resource a request named (by its URL or a write's Location),
 * read as the operator: a write answered without a body, a delete (the
 * version before the tombstone), a denied or hidden read. Only its
 * reference and compartment go into the audit record.
 */
export async function namedResource(storage: Storage, baseUrl: string, requestId: string, type: string, id: string): Promise<VersionRecord | undefined> {
  const ctx = systemContext(baseUrl, requestId);
  const current = await storage.read(ctx, type, id);
  if (!current || !current.deleted || current.versionId < 2) return current;
  return storage.vread(ctx, type, id, current.versionId - 1);
}

/** `Type/id` of a Location header (`.../Type/id/_history/n`). */
export function locationTarget(location: unknown): { type: string; id: string } | undefined {
  const match = typeof location === 'string' ? /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})\/_history\/\d+$/.exec(location) : null;
  return match ? { type: match[1], id: match[2] } : undefined;
}
