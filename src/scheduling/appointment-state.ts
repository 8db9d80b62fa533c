/**
 * What an Appointment holds, in Concord's booking rule (docs/scheduling.md):
 * which statuses are active, when a hold lapses, and the time it takes.
 * Pure functions of the body and an instant: every caller (the commit rule,
 * `$find`, the hold sweeper) judges an Appointment the same way.
 */
import type { Appointment, Reference } from 'fhir/r4';

/** Appointment.status values that hold their Slots and their participants' time (pending, booked, arrived, checked-in). */
const ACTIVE_STATUSES: ReadonlySet<string> = new Set(['pending', 'booked', 'arrived', 'checked-in']);

/** The active statuses, for a search (`status=`). */
export const ACTIVE_STATUS_LIST = [...ACTIVE_STATUSES].join(',');

/**
 * Concord's extension on a held (pending) Appointment: the instant the hold
 * lapses (valueInstant). Documented in the `$hold` OperationDefinition.
 */
export const HOLD_EXPIRES_URL = 'urn:concord:StructureDefinition:appointment-hold-expires';

/** When this Appointment's hold lapses; undefined when it is no hold (or its instant cannot be read). */
export function holdExpiry(appointment: Appointment): Date | undefined {
  const value = appointment.extension?.find((extension) => extension.url === HOLD_EXPIRES_URL)?.valueInstant;
  if (value === undefined) return undefined;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

/** A pending Appointment whose hold expiry has passed at `now` (swept or not). */
export function isLapsedHold(appointment: Appointment, now: Date): boolean {
  const expiry = holdExpiry(appointment);
  return appointment.status === 'pending' && expiry !== undefined && expiry.getTime() <= now.getTime();
}

/**
 * Whether the Appointment holds its Slots and its participants at `now`:
 * an active status, and not a hold whose expiry has passed (from that
 * instant it no longer blocks anything, whether or not it was swept).
 */
export function isActive(appointment: Appointment | undefined, now: Date): appointment is Appointment {
  return appointment !== undefined && ACTIVE_STATUSES.has(appointment.status) && !isLapsedHold(appointment, now);
}

const LOCAL_REFERENCE = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/** `Type/id` of a reference written relative or absolute on this server's base; undefined for anything else (a contained or external one). */
export function localKey(reference: string | undefined, baseUrl: string): { type: string; id: string; key: string } | undefined {
  if (reference === undefined) return undefined;
  const relative = reference.startsWith(`${baseUrl}/`) ? reference.slice(baseUrl.length + 1) : reference;
  const match = LOCAL_REFERENCE.exec(relative);
  if (!match) return undefined;
  const [, type, id] = match as unknown as [string, string, string];
  return { type, id, key: `${type}/${id}` };
}

/** The Appointment's Slots on this server, as `Slot/id`, each once. */
export function slotReferences(appointment: Appointment, baseUrl: string): string[] {
  const keys = (appointment.slot ?? []).map((slot: Reference) => localKey(slot.reference, baseUrl)).filter((key) => key?.type === 'Slot');
  return unique(keys.map((key) => key!.key));
}

/** `[start, end)` in epoch milliseconds; undefined when the Appointment does not say both. */
export interface Interval {
  start: number;
  end: number;
}

export function intervalOf(item: { start?: string; end?: string }): Interval | undefined {
  if (item.start === undefined || item.end === undefined) return undefined;
  const start = Date.parse(item.start);
  const end = Date.parse(item.end);
  return Number.isNaN(start) || Number.isNaN(end) ? undefined : { start, end };
}

/** Half-open intervals: `[9:00, 9:15)` and `[9:15, 9:30)` do not overlap, so back-to-back appointments both book. */
export function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}

export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
