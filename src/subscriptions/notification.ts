/**
 * The notification shapes of the Subscriptions R5 Backport IG 1.1.0 (R4):
 * a `history` Bundle whose first entry is the status, a Parameters
 * (the R4 form of SubscriptionStatus: profile backport-subscription-status-r4),
 * followed by the focus resources per payload content. `$status` and
 * `$events` answer the same Parameters in a `searchset` Bundle.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter } from 'fhir/r4';
import type { AnyResource } from '../fhir/types';
import type { StoredEvent } from './outbox';
import type { PayloadContent, SubscriptionSpec } from './subscription-spec';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export const STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';
export const NOTIFICATION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';

/** One event as notified: its focus is omitted when delivery decided the owner may not see it. */
export interface NotifiedEvent {
  event: StoredEvent;
  /** The focus resource (full-resource), when the owner may read it. */
  resource?: AnyResource;
  /** False: the focus is withheld (consent, scopes), the content reduced to empty. */
  visible: boolean;
}

export interface StatusFacts {
  spec: SubscriptionSpec;
  type: NotificationType;
  /** The status to report (the stored one, or `active` for the handshake that activates it). */
  status: string;
  eventsSinceStart: number;
  error?: string;
}

function eventParameter(baseUrl: string, notified: NotifiedEvent, content: PayloadContent): ParametersParameter {
  const { event } = notified;
  const focus = `${baseUrl}/${event.focus.resourceType}/${event.focus.id}`;
  return {
    name: 'notification-event',
    part: [
      { name: 'event-number', valueString: String(event.eventNumber) },
      { name: 'timestamp', valueInstant: event.timestamp },
      ...(content !== 'empty' && notified.visible ? [{ name: 'focus', valueReference: { reference: focus } }] : []),
    ],
  };
}

export function statusParameters(baseUrl: string, facts: StatusFacts, events: readonly NotifiedEvent[]): Parameters {
  const { spec } = facts;
  return {
    resourceType: 'Parameters',
    meta: { profile: [STATUS_PROFILE] },
    parameter: [
      { name: 'subscription', valueReference: { reference: `${baseUrl}/Subscription/${spec.id}` } },
      // An R4-form subscription has no topic (the handshake's topic is absent).
      ...(spec.topic ? [{ name: 'topic', valueCanonical: spec.topic.url }] : []),
      { name: 'status', valueCode: facts.status },
      { name: 'type', valueCode: facts.type },
      { name: 'events-since-subscription-start', valueString: String(facts.eventsSinceStart) },
      ...events.map((notified) => eventParameter(baseUrl, notified, spec.content)),
      ...(facts.error ? [{ name: 'error', valueCodeableConcept: { text: facts.error } }] : []),
    ],
  };
}

const METHODS = { create: 'POST', update: 'PUT', delete: 'DELETE' } as const;

/** The focus entries of the visible events, per payload content (empty: none). */
function focusEntries(baseUrl: string, events: readonly NotifiedEvent[], content: PayloadContent): BundleEntry[] {
  if (content === 'empty') return [];
  return events
    .filter((notified) => notified.visible)
    .map(({ event, resource }) => {
      const url = `${event.focus.resourceType}/${event.focus.id}`;
      return {
        fullUrl: `${baseUrl}/${url}`,
        ...(content === 'full-resource' && resource ? { resource: resource as BundleEntry['resource'] } : {}),
        request: { method: METHODS[event.interaction], url: event.interaction === 'create' ? event.focus.resourceType : url },
        response: { status: event.interaction === 'create' ? '201' : '200' },
      };
    });
}

/** A rest-hook or websocket notification: a history Bundle, status first. */
export function notificationBundle(baseUrl: string, facts: StatusFacts, events: readonly NotifiedEvent[]): Bundle {
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: [
      {
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: statusParameters(baseUrl, facts, events),
        request: { method: 'GET', url: `Subscription/${facts.spec.id}/$status` },
        response: { status: '200' },
      },
      ...focusEntries(baseUrl, events, facts.spec.content),
    ],
  };
}

/** `$status` and `$events`: a searchset Bundle of the status Parameters (and, for `$events`, the focus entries). */
export function searchsetOfStatus(baseUrl: string, facts: StatusFacts, events: readonly NotifiedEvent[], content: PayloadContent): Bundle {
  const spec = { ...facts.spec, content };
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: 1,
    entry: [
      { fullUrl: `urn:uuid:${randomUUID()}`, resource: statusParameters(baseUrl, { ...facts, spec }, events), search: { mode: 'match' } },
      ...focusEntries(baseUrl, events, content).map((entry) => ({ ...entry, search: { mode: 'include' as const } })),
    ],
  };
}
