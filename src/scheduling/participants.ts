/**
 * Whose time an Appointment takes (docs/scheduling.md, "Overlap"): the
 * Patient, Practitioners, PractitionerRoles and Locations named on the
 * Appointment itself, unless their participant status is `declined`. A
 * Location counts unless its physicalType marks it as a site, building,
 * wing, level or area: a building named on many Schedules must not make
 * every booking there conflict, while a room does.
 */
import type { Appointment, Location } from 'fhir/r4';
import { localKey, unique } from './appointment-state';

/** The types whose time is booked. */
const PARTICIPANT_TYPES = new Set(['Patient', 'Practitioner', 'PractitionerRole', 'Location']);

/** location-physical-type codes (http://terminology.hl7.org/CodeSystem/location-physical-type) of places that hold many bookings at once. */
const SHARED_PLACES = new Set(['si', 'bu', 'wi', 'lvl', 'area']);

/** The actors named on the Appointment who have not declined, of the participant types, as `Type/id` (Locations not yet sorted out). */
export function namedParticipants(appointment: Appointment, baseUrl: string): string[] {
  const keys = (appointment.participant ?? [])
    .filter((participant) => participant.status !== 'declined')
    .map((participant) => localKey(participant.actor?.reference, baseUrl))
    .filter((key): key is NonNullable<typeof key> => key !== undefined && PARTICIPANT_TYPES.has(key.type))
    .map((key) => key.key);
  return unique(keys);
}

/** Whether a Location is a shared place (site, building, wing, level, area) that does not count as a participant. */
export function isSharedPlace(location: Location | undefined): boolean {
  return (location?.physicalType?.coding ?? []).some((coding) => coding.code !== undefined && SHARED_PLACES.has(coding.code));
}

/** Reads a Location as stored (undefined when unknown). */
export type LocationReader = (id: string) => Promise<Location | undefined>;

/** The participants whose time the Appointment takes: those named, without the shared places. */
export async function countedParticipants(appointment: Appointment, baseUrl: string, readLocation: LocationReader): Promise<string[]> {
  const counted: string[] = [];
  for (const key of namedParticipants(appointment, baseUrl)) {
    if (key.startsWith('Location/') && isSharedPlace(await readLocation(key.slice('Location/'.length)))) continue;
    counted.push(key);
  }
  return counted;
}
