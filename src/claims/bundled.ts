/**
 * Where the resources sent beside a Claim end up: a resource that exists by
 * identifier is reused (the stored one stays as it is), any other gets a new
 * id; references to them (their fullUrl, or `Type/id` as sent) are then
 * rewritten, as a transaction rewrites its entries' fullUrls (http.html#trules).
 */
import { randomUUID } from 'node:crypto';
import type { Identifier } from 'fhir/r4';
import type { RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import { replaceReferences, type ReferenceTargets } from '../interactions/bundle-references';
import { escapeValue } from '../search/escape';
import { parseSearch } from '../search/parse';
import { assertValid, withoutServerMeta } from '../interactions/resource-body';
import type { StorageOps } from '../storage/port';
import type { Validator } from '../validation/validator';
import type { BundledResource } from './submission';

export interface BundledPlan {
  /** fullUrl or `Type/id` as sent → `Type/id` stored. */
  targets: ReferenceTargets;
  /** The resources to create, references rewritten, by `Type/id`. */
  created: Map<string, AnyResource>;
}

/** An identifier that can find a resource: both system and value. */
const usable = (identifiers: readonly Identifier[] | undefined) =>
  (identifiers ?? []).filter((i) => typeof i.system === 'string' && typeof i.value === 'string');

const sameIdentifier = (a: Identifier, b: Identifier) => a.system === b.system && a.value === b.value;

/** Most stored resources one type's lookup reads; a claim bundle's identifiers name a few dozen. */
const LOOKUP_CAP = 1000;

/**
 * The stored resources carrying the bundled resources' identifiers: one
 * search per type (`identifier=a|1,b|2`, an OR), not one per resource.
 */
async function storedByIdentifier(ops: StorageOps, ctx: RequestContext, bundled: readonly BundledResource[]): Promise<Map<string, AnyResource[]>> {
  const byType = new Map<string, Set<string>>();
  for (const { resource } of bundled) {
    for (const i of usable((resource as { identifier?: Identifier[] }).identifier)) {
      const tokens = byType.get(resource.resourceType) ?? new Set<string>();
      // A comma separates OR values in a search: it is escaped inside one (search.html#escaping).
      tokens.add(`${escapeValue(i.system!)}|${escapeValue(i.value!)}`);
      byType.set(resource.resourceType, tokens);
    }
  }
  const found = new Map<string, AnyResource[]>();
  for (const [type, tokens] of byType) {
    const { query } = parseSearch([type], [['identifier', [...tokens].join(',')]], { strict: true, baseUrl: ctx.baseUrl });
    const page = await ops.search(ctx, { ...query, count: LOOKUP_CAP, offset: 0, total: 'none' });
    found.set(
      type,
      page.records.flatMap((r) => (r.resource ? [r.resource as AnyResource] : [])),
    );
  }
  return found;
}

/** The one stored resource that carries the first of its identifiers that any carries; none when several do. */
function existingByIdentifier(stored: readonly AnyResource[], identifiers: readonly Identifier[]): AnyResource | undefined {
  for (const identifier of usable(identifiers)) {
    const matches = stored.filter((r) => usable((r as { identifier?: Identifier[] }).identifier).some((i) => sameIdentifier(i, identifier)));
    if (matches.length === 1) return matches[0];
  }
  return undefined;
}

/**
 * Reuse or new id for each bundled resource (`ctx` unfiltered: reuse must
 * find what exists), then the rewritten bodies. A resource to create must be
 * valid on its own: a bad one is the caller's error (422), not a claim
 * check. A reused one is not written, so it is not validated.
 */
export async function planBundled(ops: StorageOps, ctx: RequestContext, validator: Validator, bundled: readonly BundledResource[]): Promise<BundledPlan> {
  const targets = new Map<string, string>();
  const fresh: AnyResource[] = [];
  const stored = await storedByIdentifier(ops, ctx, bundled);
  for (const { fullUrl, resource } of bundled) {
    const existing = existingByIdentifier(stored.get(resource.resourceType) ?? [], (resource as { identifier?: Identifier[] }).identifier ?? []);
    if (!existing) assertValid(validator, withoutServerMeta(resource));
    const id = existing?.id ?? randomUUID();
    const target = `${resource.resourceType}/${id}`;
    if (fullUrl) targets.set(fullUrl, target);
    if (resource.id) {
      targets.set(`${resource.resourceType}/${resource.id}`, target);
      targets.set(`${ctx.baseUrl}/${resource.resourceType}/${resource.id}`, target);
    }
    if (!existing) fresh.push({ ...withoutServerMeta(resource), id });
  }
  const created = new Map<string, AnyResource>();
  for (const resource of fresh) {
    const id = resource.id!;
    const body = { ...(replaceReferences(resource, targets) as AnyResource), id };
    created.set(`${resource.resourceType}/${id}`, body);
  }
  return { targets, created };
}
