/**
 * The resources of one type as they stood at an instant, for a publication
 * that must be a snapshot (SMART Scheduling Links' `transactionTime`: the
 * files reflect that instant, whenever they are fetched). Built from what
 * both engines keep anyway:
 *
 * - resources not changed since the instant: their current version (a
 *   search for `_lastUpdated` at or before it);
 * - resources changed after it (updated, deleted): their version as of the
 *   instant, from history (`at`), when they existed then.
 *
 * The two sets are disjoint (a current version is either older or newer
 * than the instant), so each resource appears once. `since` keeps only the
 * versions last updated after that instant.
 */
import type { RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { StorageOps } from '../storage/port';
import { searchAll } from './queries';

/** History rows read per page. */
const PAGE = 500;

/** The ids of `type` with a version (or a tombstone) last updated after `instant`. */
async function changedAfter(ops: StorageOps, ctx: RequestContext, type: string, instant: string): Promise<Set<string>> {
  // History's `since` is inclusive; instants are stored to the millisecond.
  const since = new Date(Date.parse(instant) + 1).toISOString();
  const ids = new Set<string>();
  for (let offset = 0; ; offset += PAGE) {
    const page = await ops.history(ctx, { resourceType: type, since, count: PAGE, offset });
    for (const record of page.records) ids.add(record.id);
    if (page.records.length < PAGE) return ids;
  }
}

async function versionAt(ops: StorageOps, ctx: RequestContext, type: string, id: string, instant: string): Promise<AnyResource | undefined> {
  const then = (await ops.history(ctx, { resourceType: type, id, at: instant, count: 1, offset: 0 })).records[0];
  return then && !then.deleted ? then.resource : undefined;
}

export async function resourcesAsOf(ops: StorageOps, ctx: RequestContext, type: string, instant: string, since?: string): Promise<AnyResource[]> {
  const changed: Array<[string, string]> = since ? [['_lastUpdated', `gt${since}`]] : [];
  const unchanged = await searchAll(ops, ctx, type, [['_lastUpdated', `le${instant}`], ...changed]);
  const resources = unchanged.flatMap((record) => (record.resource ? [record.resource] : []));
  for (const id of await changedAfter(ops, ctx, type, instant)) {
    const then = await versionAt(ops, ctx, type, id, instant);
    if (then && (since === undefined || (then.meta?.lastUpdated ?? '') > since)) resources.push(then);
  }
  return resources;
}
