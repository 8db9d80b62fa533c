import type { Patient } from 'fhir/r4';
import type { UserPrincipal } from '../../context';
import type { AnyResource } from '../../fhir/types';
import { parseSearch } from '../../search/parse';
import type { Storage } from '../../storage/port';
import { auditEvents } from '../audit/audit-event';
import { timeOrderedId } from '../audit/install-audit';
import type { RequestGuard } from '../request-guard';
import { parseScopes } from '../scopes/parse-scopes';
import type { PatientChoice } from './pages';
import { nameOf } from './patient-choices';

/** Patients listed at once; more matches ask for a narrower name. */
export const PICKER_PAGE_SIZE = 20;

/**
 * What the picker's search runs as: the practitioner, with the purpose a
 * practitioner's token has (TREAT), reading Patients. The app's own scopes
 * do not shape the list: the token it gets is confined to the chosen
 * patient's compartment and to the consent filter anyway, and a picker
 * needs Patient names even for an app that asked for Observations only.
 */
export const PICKER_SCOPE = 'user/Patient.rs';

export interface PickerActor {
  fhirUser: string;
  username: string;
  clientId: string;
  /** `iss` of the server's tokens, for the audit agent. */
  issuer: string;
}

export interface PickerServices {
  guard: RequestGuard;
  storage: Storage;
  baseUrl: string;
  /** Where the search's AuditEvents go (the request audit's buffer). */
  audit: (events: AnyResource[]) => void;
}

export interface PickerResult {
  choices: PatientChoice[];
  /** More patients matched than are listed. */
  more: boolean;
}

/** `name` (the Patient `name` search parameter) or exactly one `id`. */
export type PickerCriteria = { name?: string } | { id: string };

function principalOf(actor: PickerActor, baseUrl: string): UserPrincipal {
  return {
    kind: 'user',
    token: { issuer: actor.issuer, clientId: actor.clientId, subject: actor.username, scopes: parseScopes(PICKER_SCOPE, baseUrl) },
    fhirUser: actor.fhirUser,
    actorType: 'Practitioner',
    purpose: 'TREAT',
  };
}

/**
 * The patients a Practitioner user may open with `launch/patient`: a search
 * of Patients admitted and filtered exactly as `GET [base]/Patient?name=`
 * by that practitioner would be (the request guard: scopes, then the access
 * filter of the scope and consent layers, applied inside the storage's
 * query), and audited as one: one AuditEvent per patient listed, so each
 * patient's access log shows who saw their name in a picker. A FhirError
 * (a bad name, a refusal) is the caller's to show.
 */
export async function visiblePatients(services: PickerServices, actor: PickerActor, criteria: PickerCriteria, requestId: string, address: string): Promise<PickerResult> {
  const { guard, storage, baseUrl } = services;
  const principal = principalOf(actor, baseUrl);
  const now = new Date();
  const classified = { interaction: 'search-type' as const, resourceType: 'Patient', permissions: ['s' as const], accessPermission: 's' as const };
  const ctx = await guard.admit({ principal, classified, requestId, now });
  const pairs: Array<[string, string]> = 'id' in criteria ? [['_id', criteria.id]] : criteria.name ? [['name', criteria.name]] : [];
  const { query } = parseSearch(['Patient'], [...pairs, ['_sort', 'family,given'], ['_count', String(PICKER_PAGE_SIZE)], ['_total', 'none']], { strict: true, baseUrl, now });
  const result = await storage.search(ctx, query);
  const listed = result.records.map((record) => record.resource as Patient).filter((patient): patient is Patient & { id: string } => patient.id !== undefined);
  const events = auditEvents({
    principal,
    interaction: 'search-type',
    recorded: now,
    outcome: '0',
    networkAddress: address,
    baseUrl,
    resources: listed.map((patient) => ({ reference: `Patient/${patient.id}`, patients: [patient.id] })),
  }).map((event) => ({ ...event, id: timeOrderedId() }) as unknown as AnyResource);
  services.audit(events);
  return { choices: listed.map((patient) => ({ patient: patient.id, name: nameOf(patient, `Patient/${patient.id}`) })), more: result.hasMore === true };
}
