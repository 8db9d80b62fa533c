import type { AuditEvent, AuditEventAgent, AuditEventEntity } from 'fhir/r4';
import type { Principal } from '../../context';
import type { Interaction } from '../scopes/interaction';

/** One audited interaction, as the HTTP layer saw it. */
export interface AuditFacts {
  principal: Principal;
  interaction: Interaction;
  operation?: string;
  recorded: Date;
  outcome: AuditOutcome;
  networkAddress: string;
  baseUrl: string;
  /** `Type/id` of each resource returned or touched, with the patients whose compartment holds it. */
  resources: ReadonlyArray<{ reference: string; patients: readonly string[] }>;
  /** Entities that are not resources, added to every event (a Bulk Data export job: jobEntity). */
  extraEntities?: readonly AuditEventEntity[];
}

/** 0 success, 4 denied (forbidden, or hidden and answered 404), 8 error. */
export type AuditOutcome = '0' | '4' | '8';

const ACTIONS: Record<Interaction, AuditEvent['action']> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  'history-type': 'R',
  'history-system': 'R',
  'search-type': 'R',
  'search-system': 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
  operation: 'E',
};

function agentOf(principal: Principal, networkAddress: string): AuditEventAgent {
  const token = principal.kind === 'user' ? principal.token : principal.token;
  const who =
    principal.kind === 'user'
      ? { reference: principal.fhirUser }
      : { identifier: { system: token?.issuer, value: token?.clientId ?? 'operator' }, display: 'operator' };
  return {
    who,
    requestor: true,
    ...(principal.kind === 'user' && principal.token.clientId ? { altId: principal.token.clientId } : {}),
    network: { address: networkAddress, type: '2' },
  };
}

function patientEntity(patient: string): AuditEventEntity {
  return {
    what: { reference: `Patient/${patient}` },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  };
}

function resourceEntity(reference: string): AuditEventEntity {
  return {
    what: { reference },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4', display: 'Domain Resource' },
  };
}

function event(facts: AuditFacts, entities: AuditEventEntity[]): AuditEvent {
  const purpose = facts.principal.kind === 'user' ? facts.principal.purpose : undefined;
  return {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: facts.interaction }],
    action: ACTIONS[facts.interaction],
    recorded: facts.recorded.toISOString(),
    outcome: facts.outcome,
    ...(facts.operation ? { outcomeDesc: `operation ${facts.operation}` } : {}),
    ...(purpose ? { purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: purpose }] }] } : {}),
    agent: [agentOf(facts.principal, facts.networkAddress)],
    source: {
      site: facts.baseUrl,
      observer: { display: 'Concord FHIR server' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    ...(entities.length > 0 ? { entity: entities } : {}),
  };
}

/**
 * The AuditEvents of one interaction: one per patient whose data it returned
 * or touched, naming that patient (role 1) and that patient's resources, by
 * reference only; resources in no patient's compartment go with every event.
 * Splitting by patient is what lets each patient read their own access log
 * (`entity` = their Patient) without ever learning which other patients
 * appeared in the same response. Without any patient: one event.
 */
export function auditEvents(facts: AuditFacts): AuditEvent[] {
  const patients = [...new Set(facts.resources.flatMap((resource) => resource.patients))].sort();
  const shared = [
    ...facts.resources.filter((resource) => resource.patients.length === 0).map((resource) => resourceEntity(resource.reference)),
    ...(facts.extraEntities ?? []),
  ];
  if (patients.length === 0) return [event(facts, shared)];
  return patients.map((patient) =>
    event(facts, [
      patientEntity(patient),
      ...facts.resources.filter((resource) => resource.patients.includes(patient) && resource.reference !== `Patient/${patient}`).map((resource) => resourceEntity(resource.reference)),
      ...shared,
    ]),
  );
}

/**
 * A Bulk Data export job as an AuditEvent entity (it is no FHIR resource):
 * its id as an identifier, role Job (object-role 20), and details such as
 * the types exported or the file downloaded. Never patient data.
 */
export function jobEntity(baseUrl: string, jobId: string, details: Record<string, string>): AuditEventEntity {
  return {
    what: { identifier: { system: `${baseUrl}/$export-status`, value: jobId } },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '20', display: 'Job' },
    name: `Bulk Data export ${jobId}`,
    detail: Object.entries(details).map(([type, valueString]) => ({ type, valueString })),
  };
}
