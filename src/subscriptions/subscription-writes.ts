/**
 * The rules a Subscription write passes before it is stored (create,
 * update, patch, conditional update), called by the write interactions:
 *
 * - the resource reads as a subscription of either form (subscription-spec.ts);
 * - the writer may read what it subscribes to: the criteria's or the
 *   topic's resource type (403), since every notification is a read;
 * - a rest-hook endpoint passes the SSRF rule (endpoint-policy.ts: 422);
 * - the owner is stamped by the server (owner.ts): the writer on a create
 *   or a user's update; the operator's update keeps the stored owner;
 * - the status: a rest-hook subscription written `requested`, or `active`
 *   while it is not active, starts (again) as `requested`: delivery sends
 *   the handshake and activates it, then resumes from the first undelivered
 *   event; a websocket subscription is active at once (it has no handshake);
 * - a storage that cannot hold an outbox (standalone MongoDB, no atomic
 *   units) takes no Subscription: 501, rather than one that never notifies.
 */
import type { Subscription } from 'fhir/r4';
import { systemContext, type RequestContext } from '../context';
import { FhirError } from '../errors';
import type { AnyResource } from '../fhir/types';
import { authorize } from '../security/scopes/authorize';
import type { StorageOps } from '../storage/port';
import { assertEndpointAllowed, type EndpointPolicy } from './endpoint-policy';
import { OWNER_EXTENSION, OWNER_TAG_SYSTEM, ownerOf, withOwner } from './owner';
import { subscriptionSpec } from './subscription-spec';

function nextStatus(written: Subscription, stored: Subscription | undefined, websocket: boolean): Subscription['status'] {
  if (written.status === 'off') return 'off';
  if (websocket) return 'active';
  if (written.status === 'requested') return 'requested';
  return stored?.status === 'active' ? 'active' : 'requested';
}

/** The stored body's owner stamp carried over (the operator updating someone's subscription). */
function keepOwner(resource: AnyResource, stored: AnyResource): AnyResource {
  const tag = stored.meta?.tag?.find((candidate) => candidate.system === OWNER_TAG_SYSTEM);
  const extension = (stored as { extension?: Array<{ url: string }> }).extension?.find((candidate) => candidate.url === OWNER_EXTENSION);
  const tags = (resource.meta?.tag ?? []).filter((candidate) => candidate.system !== OWNER_TAG_SYSTEM);
  const extensions = ((resource as { extension?: Array<{ url: string }> }).extension ?? []).filter((candidate) => candidate.url !== OWNER_EXTENSION);
  return { ...resource, meta: { ...resource.meta, tag: [...tags, ...(tag ? [tag] : [])] }, extension: [...extensions, ...(extension ? [extension] : [])] } as AnyResource;
}

/** Checks a Subscription about to be stored through `ops` and returns the body to store. */
export async function prepareSubscriptionWrite(policy: EndpointPolicy, ops: StorageOps, ctx: RequestContext, resource: AnyResource, unavailable?: string): Promise<AnyResource> {
  if (unavailable !== undefined) throw FhirError.of(501, 'not-supported', `Subscriptions are not available on this server: ${unavailable}`);
  const written = resource as unknown as Subscription;
  const spec = subscriptionSpec(written, ctx.baseUrl);
  // A notification is a read of the focus: the writer must hold read rights on its type.
  authorize(ctx.principal, spec.types, ['r']);
  if (spec.channel.type === 'rest-hook' && spec.channel.endpoint) await assertEndpointAllowed(policy, spec.channel.endpoint);
  const stored = written.id === undefined ? undefined : (await ops.read(systemContext(ctx.baseUrl, ctx.requestId), 'Subscription', written.id))?.resource;
  const current = stored as unknown as Subscription | undefined;
  const status = nextStatus(written, current, spec.channel.type === 'websocket');
  const { error: _error, ...rest } = written;
  const body = { ...(status === 'requested' ? rest : written), status } as unknown as AnyResource;
  const keep = ctx.principal.kind === 'operator' && current !== undefined && ownerOf(stored as AnyResource, ctx.baseUrl) !== undefined;
  return keep ? keepOwner(body, stored as AnyResource) : withOwner(body, ctx.principal);
}
