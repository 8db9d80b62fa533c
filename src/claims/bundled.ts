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
import { findMatches } from '../interactions/conditional';
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

/** The one stored resource of this type that carries one of these identifiers; none when none or several do. */
async function existingByIdentifier(ops: StorageOps, ctx: RequestContext, type: string, identifiers: readonly Identifier[]): Promise<AnyResource | undefined> {
  for (const { system, value } of identifiers) {
    if (!system || !value) continue;
    const matches = await findMatches(ops, ctx, type, [['identifier', `${system}|${value}`]]);
    if (matches.length === 1 && matches[0]!.resource) return matches[0]!.resource as AnyResource;
  }
  return undefined;
}

/** Every bundled resource must be valid on its own: a bad one is the caller's error (422), not a claim check. */
export function assertBundledValid(validator: Validator, bundled: readonly BundledResource[]): void {
  for (const { resource } of bundled) assertValid(validator, withoutServerMeta(resource));
}

/** Reuse or new id for each bundled resource (`ctx` unfiltered: reuse must find what exists), then the rewritten bodies. */
export async function planBundled(ops: StorageOps, ctx: RequestContext, bundled: readonly BundledResource[]): Promise<BundledPlan> {
  const targets = new Map<string, string>();
  const fresh: AnyResource[] = [];
  for (const { fullUrl, resource } of bundled) {
    const existing = await existingByIdentifier(ops, ctx, resource.resourceType, (resource as { identifier?: Identifier[] }).identifier ?? []);
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
