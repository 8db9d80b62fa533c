/**
 * `$book`'s idempotency key (docs/scheduling.md): the `Idempotency-Key`
 * header, else the Appointment's first identifier. Keys are per principal
 * and live 24 hours. The booked Appointment carries the key's digest as an
 * identifier of Concord's system, stamped with the booking instant, so the
 * retry is found with an indexed search on either engine and nothing else
 * needs storing. Only a digest of principal and key is stored: neither can
 * be read back from it.
 */
import { createHash } from 'node:crypto';
import type { Appointment, Identifier } from 'fhir/r4';
import type { Principal, RequestContext } from '../context';
import type { StorageOps } from '../storage/port';
import { localKey, slotReferences } from './appointment-state';
import { searchAll } from './queries';

export const IDEMPOTENCY_SYSTEM = 'urn:concord:idempotency-key';
export const IDEMPOTENCY_LIFETIME_MS = 24 * 3600 * 1000;

/** Who a key belongs to: the token's issuer and user, or its client for a system token. */
function principalName(principal: Principal): string {
  if (principal.kind === 'user') return `user|${principal.token.issuer}|${principal.fhirUser}`;
  return principal.token ? `client|${principal.token.issuer}|${principal.token.clientId ?? ''}` : 'operator';
}

/** The key of this request, if it has one: the header, else the Appointment's first identifier (system|value). */
export function idempotencyKey(header: string | undefined, appointment: Appointment): string | undefined {
  if (header !== undefined && header.trim() !== '') return `header|${header.trim()}`;
  const identifier = appointment.identifier?.find((id) => id.system !== IDEMPOTENCY_SYSTEM && id.value !== undefined);
  return identifier ? `identifier|${identifier.system ?? ''}|${identifier.value!}` : undefined;
}

export function keyDigest(principal: Principal, key: string): string {
  return createHash('sha256').update(`${principalName(principal)}\n${key}`).digest('hex');
}

/** The identifier a booking made under this digest carries. */
export function keyIdentifier(digest: string, now: Date): Identifier {
  return { system: IDEMPOTENCY_SYSTEM, value: digest, period: { start: now.toISOString() } };
}

/** The booking made under this digest in the last 24 hours, if any. */
export async function priorBooking(ops: StorageOps, ctx: RequestContext, digest: string): Promise<Appointment | undefined> {
  const found = await searchAll(ops, ctx, 'Appointment', [['identifier', `${IDEMPOTENCY_SYSTEM}|${digest}`]]);
  const since = ctx.now.getTime() - IDEMPOTENCY_LIFETIME_MS;
  return found
    .map((record) => record.resource as unknown as Appointment)
    .find((appointment) => {
      const stamped = appointment.identifier?.find((id) => id.system === IDEMPOTENCY_SYSTEM && id.value === digest)?.period?.start;
      return stamped !== undefined && Date.parse(stamped) > since;
    });
}

/** What makes two bookings the same: their Slots, participants, start and end. */
export function sameBooking(a: Appointment, b: Appointment, baseUrl: string): boolean {
  const print = (appointment: Appointment) =>
    JSON.stringify({
      slots: slotReferences(appointment, baseUrl).sort(),
      participants: (appointment.participant ?? [])
        .map((participant) => localKey(participant.actor?.reference, baseUrl)?.key ?? participant.actor?.reference ?? '')
        .sort(),
      start: appointment.start === undefined ? null : Date.parse(appointment.start),
      end: appointment.end === undefined ? null : Date.parse(appointment.end),
    });
  return print(a) === print(b);
}
