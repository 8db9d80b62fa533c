/**
 * Who a Subscription belongs to. Its headers may hold secrets and its
 * notifications reveal the timing of the owner's data, so only the principal
 * that created it and the operator see it; everyone else gets 404, as for a
 * resource that does not exist. The server stamps the owner on every write
 * (a client cannot choose it): a tag the access filter compares inside the
 * storage query, and the owner's grant (scope texts, fhirUser, patient,
 * purpose) in an extension, from which delivery rebuilds the owner's
 * context to decide each notification as a read by the owner would be.
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../context';
import type { ActorType } from '../context';
import type { Extension } from 'fhir/r4';
import type { AnyResource } from '../fhir/types';
import type { Condition } from '../search/query';
import type { AccessPartSource } from '../security/access-filter';
import { parseScopes } from '../security/scopes/parse-scopes';

export const OWNER_TAG_SYSTEM = 'https://concord.example.org/fhir/CodeSystem/subscription-owner';
export const OWNER_EXTENSION = 'https://concord.example.org/fhir/StructureDefinition/subscription-owner';

/** The delivery bookkeeping types: server rows nobody but the operator may read (outbox.ts). */
export const INTERNAL_TYPES = ['ConcordSubscriptionEvents', 'ConcordSubscriptionCursor'] as const;

/** What is kept of the owner's grant: enough to rebuild the principal at delivery. */
interface StoredOwner {
  kind: 'user' | 'operator';
  issuer?: string;
  clientId?: string;
  scopes?: string[];
  fhirUser?: string;
  actorType?: ActorType;
  patient?: string;
  purpose?: string;
}

/** A stable key of the principal: users by issuer and fhirUser (hashed: the tag is an index value); the operator is one owner. */
export function ownerKey(principal: Principal): string {
  if (principal.kind === 'operator') return 'operator';
  return createHash('sha256').update(`${principal.token.issuer}\u0000${principal.fhirUser}`).digest('hex').slice(0, 40);
}

function stored(principal: Principal): StoredOwner {
  if (principal.kind === 'operator') {
    const token = principal.token;
    return token ? { kind: 'operator', issuer: token.issuer, clientId: token.clientId, scopes: token.scopes.map((scope) => scope.text) } : { kind: 'operator' };
  }
  const { token } = principal;
  return {
    kind: 'user',
    issuer: token.issuer,
    ...(token.clientId ? { clientId: token.clientId } : {}),
    scopes: token.scopes.map((scope) => scope.text),
    fhirUser: principal.fhirUser,
    actorType: principal.actorType,
    ...(principal.patient ? { patient: principal.patient } : {}),
    purpose: principal.purpose,
  };
}

/** The body with the owner stamped: any owner tag or extension the client sent is replaced. */
export function withOwner(resource: AnyResource, principal: Principal): AnyResource {
  const subscription = resource as AnyResource & { extension?: Extension[] };
  const tags = (resource.meta?.tag ?? []).filter((tag) => tag.system !== OWNER_TAG_SYSTEM);
  const extensions = (subscription.extension ?? []).filter((extension) => extension.url !== OWNER_EXTENSION);
  return {
    ...resource,
    meta: { ...resource.meta, tag: [...tags, { system: OWNER_TAG_SYSTEM, code: ownerKey(principal) }] },
    extension: [...extensions, { url: OWNER_EXTENSION, valueString: JSON.stringify(stored(principal)) }],
  } as AnyResource;
}

/** The owner key tagged on a stored Subscription (ownerKey() of its owner); undefined when there is none. */
export function ownerKeyOf(resource: AnyResource): string | undefined {
  return resource.meta?.tag?.find((tag) => tag.system === OWNER_TAG_SYSTEM)?.code;
}

/** The owner stamped on a stored Subscription; undefined when there is none (refused at delivery). */
export function ownerOf(resource: AnyResource, baseUrl: string): Principal | undefined {
  const raw = (resource as { extension?: Extension[] }).extension?.find((extension) => extension.url === OWNER_EXTENSION)?.valueString;
  if (raw === undefined) return undefined;
  const owner = JSON.parse(raw) as StoredOwner;
  const scopes = owner.scopes === undefined ? undefined : parseScopes(owner.scopes.join(' '), baseUrl);
  if (owner.kind === 'operator') {
    return scopes === undefined ? { kind: 'operator' } : { kind: 'operator', token: { issuer: owner.issuer ?? '', clientId: owner.clientId, scopes } };
  }
  if (!owner.fhirUser || !owner.actorType || !owner.purpose || owner.issuer === undefined) return undefined;
  return {
    kind: 'user',
    token: { issuer: owner.issuer, ...(owner.clientId ? { clientId: owner.clientId } : {}), scopes: scopes ?? [] },
    fhirUser: owner.fhirUser,
    actorType: owner.actorType,
    ...(owner.patient ? { patient: owner.patient } : {}),
    purpose: owner.purpose,
  };
}

const NOTHING: Condition = { kind: 'constant', value: false };

function ownedBy(key: string): Condition {
  return { kind: 'param', code: '_tag', type: 'token', values: [{ kind: 'token', system: OWNER_TAG_SYSTEM, code: key }] };
}

/**
 * The ownership layer of the access filter: a user sees only the
 * Subscriptions tagged with their key, and none of the delivery rows; the
 * operator is not restricted. Applied inside every storage query like the
 * consent layer, so read, search, history, update and delete all answer 404.
 */
export const ownershipAccessSource: AccessPartSource = ({ principal }) => {
  if (principal.kind !== 'user') return undefined;
  const key = ownerKey(principal);
  return {
    conditionsFor: (resourceType) => {
      if (resourceType === 'Subscription') return [ownedBy(key)];
      return (INTERNAL_TYPES as readonly string[]).includes(resourceType) ? [NOTHING] : undefined;
    },
  };
};
