/**
 * The outbox: each subscription's events, written in the unit of work of
 * the change that caused them (a commit listener's `inside`), so that they
 * commit with it or vanish with it, on both engines.
 *
 * A subscription's events are the versions of one server row,
 * `ConcordSubscriptionEvents/<subscription id>`: event n is version n. The
 * storage already numbers versions per resource from 1 without gaps, and a
 * unit that writes version n excludes every other writer of it (SQLite's
 * write transaction; MongoDB's transaction conflict), so the numbers are
 * monotonic and gapless by construction, and a replay is a `vread`.
 * `ConcordSubscriptionCursor/<id>` holds the last event delivered, written
 * after the receiver's 2xx: after a crash delivery resumes after it (at
 * least once; a repeat carries the same event number).
 *
 * Nothing is deleted: every event stays replayable (`$events`), beyond the
 * 7 days or 10,000 events promised (docs/subscriptions.md).
 */
import { systemContext, type RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { StorageOps } from '../storage/port';
import type { TriggerInteraction } from './topics';

export const EVENTS_TYPE = 'ConcordSubscriptionEvents';
export const CURSOR_TYPE = 'ConcordSubscriptionCursor';

/** One event as stored (a version of the subscription's events row). */
export interface StoredEvent {
  eventNumber: number;
  /** When the change committed (the unit's clock). */
  timestamp: string;
  focus: { resourceType: string; id: string; versionId: number };
  interaction: TriggerInteraction;
}

interface EventsRow {
  resourceType: typeof EVENTS_TYPE;
  id: string;
  timestamp: string;
  focus: StoredEvent['focus'];
  interaction: TriggerInteraction;
}

const rowOf = (resource: AnyResource, versionId: number): StoredEvent => {
  const row = resource as unknown as EventsRow;
  return { eventNumber: versionId, timestamp: row.timestamp, focus: row.focus, interaction: row.interaction };
};

/** Appends one event through `tx` (the change's unit); its number is the row's new version. */
export async function appendEvent(tx: StorageOps, ctx: RequestContext, subscriptionId: string, event: Omit<StoredEvent, 'eventNumber'>): Promise<number> {
  const row: EventsRow = { resourceType: EVENTS_TYPE, id: subscriptionId, ...event };
  const { record } = await tx.update(ctx, row as unknown as AnyResource);
  return record.versionId;
}

/** The number of the last event, 0 when there is none. */
export async function lastEventNumber(storage: StorageOps, baseUrl: string, subscriptionId: string): Promise<number> {
  const record = await storage.read(systemContext(baseUrl), EVENTS_TYPE, subscriptionId);
  return record?.versionId ?? 0;
}

export async function readEvent(storage: StorageOps, baseUrl: string, subscriptionId: string, eventNumber: number): Promise<StoredEvent | undefined> {
  const record = await storage.vread(systemContext(baseUrl), EVENTS_TYPE, subscriptionId, eventNumber);
  return record?.resource ? rowOf(record.resource, record.versionId) : undefined;
}

/** The last event delivered (0: none). */
export async function deliveredUpTo(storage: StorageOps, baseUrl: string, subscriptionId: string): Promise<number> {
  const record = await storage.read(systemContext(baseUrl), CURSOR_TYPE, subscriptionId);
  const delivered = (record?.resource as { delivered?: number } | undefined)?.delivered;
  return typeof delivered === 'number' ? delivered : 0;
}

export async function markDelivered(storage: StorageOps, baseUrl: string, subscriptionId: string, eventNumber: number): Promise<void> {
  await storage.update(systemContext(baseUrl), { resourceType: CURSOR_TYPE, id: subscriptionId, delivered: eventNumber } as unknown as AnyResource);
}
