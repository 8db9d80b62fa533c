/**
 * The search suite's harness: a server on in-memory SQLite (test/http/harness.ts),
 * fixtures written through the API, and small readers of searchset bundles.
 */
import { readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { Storage } from '../../src/storage/port';
import { BASE_URL, fhirJson, startHarness, type Harness } from '../http/harness';

export { BASE_URL };

export interface BundleJson {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  link?: Array<{ relation: string; url: string }>;
  entry?: Array<{ fullUrl?: string; resource: AnyResource; search?: { mode: string } }>;
}

/** Writes each resource at its id (PUT: update-as-create); throws on anything but 200/201. */
export async function put(h: Harness, resource: AnyResource): Promise<void> {
  const res = await h.request({ method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, headers: fhirJson, payload: resource });
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`PUT ${resource.resourceType}/${resource.id}: ${res.statusCode} ${res.body}`);
}

export async function remove(h: Harness, type: string, id: string): Promise<void> {
  const res = await h.request({ method: 'DELETE', url: `/fhir/${type}/${id}` });
  if (res.statusCode !== 204) throw new Error(`DELETE ${type}/${id}: ${res.statusCode} ${res.body}`);
}

/** A server loaded with `resources` in order (a later one with the same id is an update). */
export async function harnessWith(resources: AnyResource[], deletions: Array<[string, string]> = []): Promise<Harness> {
  // Search fixtures hold dangling references on purpose (chains and includes that find nothing) and load in any order.
  const h = await startHarness({ referentialIntegrity: { mode: 'off', exemptTypes: [] } });
  for (const resource of resources) await put(h, resource);
  for (const [type, id] of deletions) await remove(h, type, id);
  return h;
}

/** `url` relative to the server root (`/fhir/...`), or an absolute link from a bundle. */
export function localUrl(url: string): string {
  return url.startsWith(BASE_URL) ? `/fhir${url.slice(BASE_URL.length)}` : url;
}

export async function get(h: Harness, url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return h.request({ method: 'GET', url: localUrl(url), headers });
}

/** GET a search that must succeed; the bundle. */
export async function searchBundle(h: Harness, url: string, headers: Record<string, string> = {}): Promise<BundleJson> {
  const res = await get(h, url, headers);
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
  return res.json() as BundleJson;
}

const entriesOf = (bundle: BundleJson, mode: string) => (bundle.entry ?? []).filter((e) => e.search?.mode === mode);

/** `Type/id` of the matches, in bundle order. */
export function matchRefs(bundle: BundleJson): string[] {
  return entriesOf(bundle, 'match').map((e) => `${e.resource.resourceType}/${e.resource.id}`);
}

/** Ids of the matches, in bundle order. */
export function matchIds(bundle: BundleJson): string[] {
  return entriesOf(bundle, 'match').map((e) => e.resource.id as string);
}

/** `Type/id` of the included resources, sorted (their order is not specified). */
export function includedRefs(bundle: BundleJson): string[] {
  return entriesOf(bundle, 'include').map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
}

export function outcomeIssues(bundle: BundleJson): Array<{ severity: string; diagnostics?: string; expression?: string[] }> {
  const outcome = entriesOf(bundle, 'outcome')[0]?.resource as { issue?: Array<{ severity: string; diagnostics?: string; expression?: string[] }> } | undefined;
  return outcome?.issue ?? [];
}

export function link(bundle: BundleJson, relation: string): string | undefined {
  return bundle.link?.find((l) => l.relation === relation)?.url;
}

/** Ids of a search's matches, sorted (for searches whose order is not the point). */
export async function ids(h: Harness, url: string): Promise<string[]> {
  return matchIds(await searchBundle(h, url)).sort();
}

/** Every match of a search, following `next` links to the end. */
export async function allPages(h: Harness, url: string): Promise<string[]> {
  const seen: string[] = [];
  let next: string | undefined = url;
  for (let pages = 0; next !== undefined; pages++) {
    if (pages > 1000) throw new Error('more than 1000 pages: the next links loop');
    const bundle = await searchBundle(h, next);
    seen.push(...matchIds(bundle));
    next = link(bundle, 'next');
  }
  return seen;
}

/**
 * Writes the resources of a Synthea transaction bundle straight to storage,
 * with `urn:uuid:` references rewritten to `Type/id` (each entry's fullUrl
 * names its resource), until bundle transactions land. Returns how many.
 */
export async function loadSyntheaBundle(storage: Storage, file: string): Promise<number> {
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as { entry: Array<{ fullUrl: string; resource: AnyResource }> };
  const local = new Map(bundle.entry.map((e) => [e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`]));
  const ctx = systemContext(BASE_URL, 'synthea-loader');
  for (const entry of bundle.entry) {
    const resource = resolveReferences(entry.resource, local) as AnyResource;
    await storage.update(ctx, resource);
  }
  return bundle.entry.length;
}

function resolveReferences(value: unknown, local: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, local));
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    result[key] = key === 'reference' && typeof v === 'string' && local.has(v) ? local.get(v) : resolveReferences(v, local);
  }
  return result;
}

export type { Harness };
