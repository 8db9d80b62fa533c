import { randomUUID } from 'node:crypto';

/**
 * The ids the loader's batch path gives the resources that the POST entries
 * of a bundle create, chosen on the main thread before the bundle is
 * written or validated: the validation thread builds the final bodies with
 * them (load-validate-worker.ts) and the write creates them (processBundle's
 * `newId`), so both see the same bodies without waiting for each other.
 */

/** `Type` or `Type/id` of a plain entry URL; undefined for a query, an operation or anything else. */
export function plainTarget(url: unknown): { type: string; id?: string } | undefined {
  if (typeof url !== 'string' || url.includes('?') || url.startsWith('$')) return undefined;
  const [type, id, ...rest] = url.split('/');
  if (!type || rest.length > 0 || id?.startsWith('$')) return undefined;
  return id === undefined ? { type } : { type, id };
}

interface Entry {
  fullUrl?: unknown;
  request?: { method?: unknown; url?: unknown; ifNoneExist?: unknown };
}

/** fullUrl → new id, for every unconditional POST of a plain type URL with a fullUrl (others get a random id at write time, as over REST). */
export function assignIds(bundle: { entry?: unknown }): Map<string, string> {
  const ids = new Map<string, string>();
  if (!Array.isArray(bundle.entry)) return ids;
  for (const entry of bundle.entry as Entry[]) {
    if (entry === null || typeof entry !== 'object') continue;
    const target = plainTarget(entry.request?.url);
    if (entry.request?.method !== 'POST' || !target || target.id !== undefined || entry.request.ifNoneExist !== undefined) continue;
    if (typeof entry.fullUrl === 'string') ids.set(entry.fullUrl, randomUUID());
  }
  return ids;
}
