import type { AnyResource } from './types';

/**
 * A stored body travels as the bytes the storage kept (`JSON.stringify` of
 * the stamped resource, so re-serialising its parse gives the same text)
 * until someone looks at it. A holder (a VersionRecord, a Bundle entry)
 * gets a `resource` property that parses those bytes on first access; from
 * then on the object is the caller's and may be changed, so the bytes are
 * forgotten and the response is serialised from the object as before.
 * Until then the response writes the bytes as they are: a plain read or
 * search page costs no parse and no serialisation of its bodies.
 */
const unparsed = new WeakMap<object, string>();

/** Gives `holder` a `resource` parsed from `json` when first read; its property order is kept if it already has one. */
export function withStoredBody<T extends object>(holder: T, json: string): T {
  unparsed.set(holder, json);
  Object.defineProperty(holder, 'resource', {
    configurable: true,
    enumerable: true,
    get(): AnyResource {
      const resource = JSON.parse(json) as AnyResource;
      settle(holder, resource);
      return resource;
    },
    set(resource: AnyResource | undefined) {
      settle(holder, resource);
    },
  });
  return holder;
}

function settle(holder: object, resource: AnyResource | undefined): void {
  unparsed.delete(holder);
  Object.defineProperty(holder, 'resource', { configurable: true, enumerable: true, writable: true, value: resource });
}

/** The stored bytes of the holder's `resource`, while nobody has parsed (and so perhaps changed) them. */
export function storedBody(holder: object): string | undefined {
  return unparsed.get(holder);
}

/** Another holder (a Bundle entry) of the same unparsed bytes, or of the body itself once it was parsed. */
export function shareBody<T extends object>(target: T, source: { resource?: AnyResource }): T {
  const json = storedBody(source);
  if (json !== undefined) return withStoredBody(target, json);
  (target as { resource?: AnyResource }).resource = source.resource;
  return target;
}

/**
 * A response body as compact JSON, with the stored bytes of every Bundle
 * entry whose resource nobody parsed written in place, also in a Bundle an
 * entry holds (a search in a batch). The text equals `JSON.stringify(body)`,
 * but for the position of `entry`, which goes last (a searchset Bundle has
 * it last already).
 */
export function stringifyBody(body: unknown): string {
  const entries = (body as { resourceType?: unknown; entry?: unknown } | undefined)?.entry;
  if (!Array.isArray(entries) || !entries.some(holdsStoredBytes)) return JSON.stringify(body);
  const { entry: _entries, ...head } = body as Record<string, unknown>;
  const start = JSON.stringify(head);
  const list = `"entry":[${entries.map(stringifyEntry).join(',')}]`;
  return start === '{}' ? `{${list}}` : `${start.slice(0, -1)},${list}}`;
}

/** An entry whose resource is stored bytes nobody parsed, or a Bundle with such an entry. Never parses them to find out. */
function holdsStoredBytes(entry: unknown): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  if (unparsed.has(entry)) return true;
  const entries = ((entry as { resource?: unknown }).resource as { entry?: unknown } | undefined)?.entry;
  return Array.isArray(entries) && entries.some(holdsStoredBytes);
}

/** One entry, its `resource` from stored bytes when they are still unparsed (or holds such entries); keys in their own order. */
function stringifyEntry(entry: unknown): string {
  if (!holdsStoredBytes(entry)) return JSON.stringify(entry);
  const json = unparsed.get(entry as object);
  const fields: string[] = [];
  for (const key of Object.keys(entry as object)) {
    if (key === 'resource') {
      fields.push(`"resource":${json ?? stringifyBody((entry as { resource: unknown }).resource)}`);
      continue;
    }
    const value = JSON.stringify((entry as Record<string, unknown>)[key]);
    if (value !== undefined) fields.push(`${JSON.stringify(key)}:${value}`);
  }
  return `{${fields.join(',')}}`;
}
