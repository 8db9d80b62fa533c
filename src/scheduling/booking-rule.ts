/**
 * Concord's booking rule, in one place (docs/scheduling.md): a commit
 * listener on Appointment and Slot that runs inside every unit of work that
 * writes one (plain REST, PATCH, conditional writes, batch and transaction
 * entries, `$hold` and `$book`), after its writes and before COMMIT. It
 *
 * - refuses (409) an active Appointment on a Slot another active
 *   Appointment holds, or whose participant has another active Appointment
 *   that overlaps in time;
 * - refuses (409) a direct write that frees or deletes a Slot an active
 *   Appointment holds;
 * - keeps Slot.status in step: `busy` when booked, `busy-tentative` while
 *   pending, `free` once released (cancelled, deleted, slot removed, hold
 *   lapsed).
 *
 * R4 allows several Appointments per Slot; one per Slot is Concord's rule.
 * Checks and writes go through the unit's own operations. On MongoDB the
 * unit first touches a guard per Schedule and per participant
 * (StorageOps.touchGuards), so two bookings that read "free" at once
 * conflict and the loser runs again on a snapshot that sees the winner;
 * SQLite's units are serialized already.
 */
import type { Appointment, Slot } from 'fhir/r4';
import { systemContext, type RequestContext } from '../context';
import { conflict, FhirError } from '../errors';
import type { AnyResource } from '../fhir/types';
import type { CommitListener, CommittedChange, StorageOps } from '../storage/port';
import { intervalOf, isActive, localKey, slotReferences, unique, type Interval } from './appointment-state';
import { countedParticipants } from './participants';
import { activeAppointmentsOf, activeHoldersOf } from './queries';

export interface BookingRuleOptions {
  baseUrl: string;
  /** "Now", for hold expiry: injectable so tests control it. */
  clock: () => Date;
}

/** The guard key of a Schedule's bookings and of a participant's time (StorageOps.touchGuards). */
export const scheduleGuard = (scheduleId: string) => `scheduling:Schedule/${scheduleId}`;
export const participantGuard = (key: string) => `scheduling:participant:${key}`;

/** The Slot.status that keeps a Slot in step with the active Appointment holding it. */
const heldStatus = (appointment: Appointment): Slot['status'] => (appointment.status === 'pending' ? 'busy-tentative' : 'busy');

/** Slot statuses a new booking may not take: the Slot is blocked or was a mistake. */
const UNBOOKABLE: ReadonlySet<string> = new Set(['busy-unavailable', 'entered-in-error']);

/** Slot statuses a direct write may not give a Slot that an active Appointment holds. */
const RELEASED: ReadonlySet<string> = new Set(['free', 'entered-in-error']);

export function bookingRule(options: BookingRuleOptions): CommitListener {
  return {
    types: ['Appointment', 'Slot'],
    inside: (changes, tx) => new BookingCheck(options, tx).run(changes),
  };
}

/** One unit's check: its changes, its operations and one reading of the clock. */
class BookingCheck {
  private readonly ctx: RequestContext;
  private readonly now: Date;
  private readonly slots = new Map<string, Slot | undefined>();

  constructor(
    private readonly options: BookingRuleOptions,
    private readonly tx: StorageOps,
  ) {
    this.now = options.clock();
    // The rule sees the database, not what the writer may see: a conflict with a hidden booking is still a conflict.
    this.ctx = { ...systemContext(options.baseUrl, 'scheduling'), now: this.now };
  }

  async run(changes: readonly CommittedChange[]): Promise<void> {
    const appointments = changes.filter((change) => change.resourceType === 'Appointment');
    const slotWrites = changes.filter((change) => change.resourceType === 'Slot');
    const active = appointments.map((change) => change.after as unknown as Appointment | undefined).filter((after): after is Appointment => isActive(after, this.now));
    await this.touchGuards(appointments, slotWrites);
    for (const appointment of active) await this.checkAppointment(appointment, appointments);
    // The Appointments of this unit decide their Slots' status: a Slot written alongside them follows them.
    const followed = new Set(active.flatMap((appointment) => slotReferences(appointment, this.options.baseUrl)));
    for (const change of slotWrites) if (!followed.has(`Slot/${change.id}`)) await this.checkSlotWrite(change);
    for (const appointment of active) await this.markHeld(appointment);
    for (const change of appointments) await this.releaseSlots(change);
  }

  /** Guards of every Schedule and participant the unit touches, before any check reads (MongoDB; SQLite has none to write). */
  private async touchGuards(appointments: readonly CommittedChange[], slotWrites: readonly CommittedChange[]): Promise<void> {
    if (!this.tx.touchGuards) return;
    const keys: string[] = [];
    for (const change of appointments) {
      for (const body of [change.before, change.after] as unknown as Array<Appointment | undefined>) {
        if (!body) continue;
        for (const ref of slotReferences(body, this.options.baseUrl)) {
          const schedule = await this.scheduleOf(ref);
          if (schedule) keys.push(scheduleGuard(schedule));
        }
        for (const participant of await this.participants(body)) keys.push(participantGuard(participant));
      }
    }
    for (const change of slotWrites) {
      const schedule = localKey(((change.after ?? change.before) as unknown as Slot | undefined)?.schedule?.reference, this.options.baseUrl);
      if (schedule) keys.push(scheduleGuard(schedule.id));
    }
    if (keys.length > 0) await this.tx.touchGuards(unique(keys));
  }

  private async checkAppointment(appointment: Appointment, unitChanges: readonly CommittedChange[]): Promise<void> {
    const before = unitChanges.find((change) => change.id === appointment.id)?.before as unknown as Appointment | undefined;
    const heldBefore = new Set(isActive(before, this.now) ? slotReferences(before, this.options.baseUrl) : []);
    for (const ref of slotReferences(appointment, this.options.baseUrl)) {
      const slot = await this.slot(ref);
      if (!slot) throw FhirError.of(422, 'processing', `${ref} of the Appointment does not exist`);
      if (!heldBefore.has(ref) && UNBOOKABLE.has(slot.status)) throw conflict(`${ref} is ${slot.status} and cannot be booked`);
      const holder = (await this.activeHolders(ref)).find((other) => other.id !== appointment.id);
      if (holder) throw conflict(`${ref} is already held by another active Appointment`);
    }
    const interval = intervalOf(appointment);
    if (!interval) return;
    const busy = await this.busyParticipant(await this.participants(appointment), interval, appointment.id);
    if (busy) throw conflict(`${busy} already has an active Appointment that overlaps ${appointment.start} - ${appointment.end}`);
  }

  /** The first of these participants that another active Appointment (which it has not declined) overlapping `interval` counts too. */
  private async busyParticipant(participants: readonly string[], interval: Interval, ownId: string | undefined): Promise<string | undefined> {
    const counted = new Set<string>();
    for (const other of await activeAppointmentsOf(this.tx, this.ctx, participants, interval)) {
      if (other.id !== ownId) for (const participant of await this.participants(other)) counted.add(participant);
    }
    return participants.find((participant) => counted.has(participant));
  }

  /** A Slot freed, blocked for good or deleted by a direct write while an active Appointment holds it: 409. */
  private async checkSlotWrite(change: CommittedChange): Promise<void> {
    const after = change.after as unknown as Slot | undefined;
    if (after && !RELEASED.has(after.status)) return;
    if ((await this.activeHolders(`Slot/${change.id}`)).length === 0) return;
    const what = after ? `set to ${after.status}` : 'deleted';
    throw conflict(`Slot/${change.id} is held by an active Appointment and cannot be ${what}; cancel the Appointment first`);
  }

  /** The Slots of an active Appointment say busy (booked) or busy-tentative (pending). */
  private async markHeld(appointment: Appointment): Promise<void> {
    for (const ref of slotReferences(appointment, this.options.baseUrl)) await this.setStatus(ref, heldStatus(appointment));
  }

  /** Slots the Appointment no longer holds (released, deleted, taken off it, lapsed) are free unless another active Appointment holds them. */
  private async releaseSlots(change: CommittedChange): Promise<void> {
    const after = change.after as unknown as Appointment | undefined;
    const kept = new Set(isActive(after, this.now) ? slotReferences(after, this.options.baseUrl) : []);
    const previous = [change.before, change.after].flatMap((body) => (body ? slotReferences(body as unknown as Appointment, this.options.baseUrl) : []));
    for (const ref of unique(previous)) {
      if (kept.has(ref)) continue;
      const slot = await this.slot(ref);
      if (!slot || (slot.status !== 'busy' && slot.status !== 'busy-tentative')) continue;
      const holder = (await this.activeHolders(ref)).find((other) => other.id !== change.id);
      await this.setStatus(ref, holder ? heldStatus(holder) : 'free');
    }
  }

  private async setStatus(ref: string, status: Slot['status']): Promise<void> {
    const slot = await this.slot(ref);
    if (!slot || slot.status === status) return;
    const updated: Slot = { ...slot, status };
    await this.tx.update(this.ctx, updated as unknown as AnyResource);
    this.slots.set(ref, updated);
  }

  /** The active Appointments that name this Slot. */
  private activeHolders(ref: string): Promise<Appointment[]> {
    return activeHoldersOf(this.tx, this.ctx, [ref]);
  }

  private participants(appointment: Appointment): Promise<string[]> {
    return countedParticipants(appointment, this.options.baseUrl, async (id) => (await this.tx.read(this.ctx, 'Location', id))?.resource as never);
  }

  private async slot(ref: string): Promise<Slot | undefined> {
    if (!this.slots.has(ref)) {
      const key = localKey(ref, this.options.baseUrl);
      const record = key && key.type === 'Slot' ? await this.tx.read(this.ctx, 'Slot', key.id) : undefined;
      this.slots.set(ref, record?.resource && !record.deleted ? (record.resource as unknown as Slot) : undefined);
    }
    return this.slots.get(ref);
  }

  private async scheduleOf(ref: string): Promise<string | undefined> {
    return localKey((await this.slot(ref))?.schedule.reference, this.options.baseUrl)?.id;
  }
}
