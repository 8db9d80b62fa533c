/**
 * The base policy's relationships (docs/access-control.md, "The decision", step 4), looked up for one
 * request with unfiltered queries: the patients the actor treats and what a
 * payer's Claims and Coverages reach. Looked up on every request, so a new
 * Encounter or Coverage counts on the very next one.
 */
import type { RequestContext } from '../../context';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import type { Condition, HasCondition } from '../../search/query';
import type { StorageOps } from '../../storage/port';
import { or, referenceParam } from './conditions';
import { patientsOf } from './patients-of';
import { searchAll } from './storage-queries';

const has = (resourceType: string, referenceParam: string, where: Condition): HasCondition => ({ kind: 'has', resourceType, referenceParam, where });

/**
 * On Patient: the actor (any of its identities) is the patient's general
 * practitioner or managing organization, or a participant or service provider
 * of one of their Encounters, a participant of one of their Appointments, or
 * the performer of one of their ServiceRequests (a referral).
 */
export function treatmentRelationship(identities: Iterable<string>): Condition {
  const refs = [...identities];
  return or(
    referenceParam('general-practitioner', refs),
    referenceParam('organization', refs),
    has('Encounter', 'patient', referenceParam('participant', refs)),
    has('Encounter', 'patient', referenceParam('service-provider', refs)),
    has('Appointment', 'patient', referenceParam('actor', refs)),
    has('ServiceRequest', 'patient', referenceParam('performer', refs)),
  );
}

export async function treatedPatients(ops: StorageOps, ctx: RequestContext, identities: Iterable<string>): Promise<Set<string>> {
  const patients = await searchAll(ops, ctx, 'Patient', [treatmentRelationship(identities)]);
  return new Set(patients.map((p) => p.id!));
}

/** What the payer rule opens for one payer: its Claims, Coverages and ClaimResponses, and the patients they belong to. */
export interface PayerReach {
  /** The payer's reference (`Organization/x`): ClaimResponses whose `insurer` it is are its own. */
  payer: string;
  claimIds: Set<string>;
  coverageIds: Set<string>;
  patientIds: Set<string>;
}

/**
 * Claims name the payer as `insurer` or through `insurance.coverage` (the
 * server's `coverage` search parameter, src/fhir/definitions.ts, indexes
 * it), so a Claim naming the payer's Coverage is found even without `insurer`.
 */
export async function payerReach(ops: StorageOps, ctx: RequestContext, indexer: Indexer, payer: string): Promise<PayerReach> {
  const patientsOfResource = (r: AnyResource) => patientsOf({ resourceType: r.resourceType, id: r.id!, entries: indexer(r) });
  const coverages = await searchAll(ops, ctx, 'Coverage', [referenceParam('payor', [payer])]);
  const coverageRefs = coverages.map((c) => `Coverage/${c.id}`);
  const claims = await searchAll(ops, ctx, 'Claim', [or(referenceParam('insurer', [payer]), referenceParam('coverage', coverageRefs))]);
  return {
    payer,
    claimIds: new Set(claims.map((c) => c.id!)),
    coverageIds: new Set(coverages.map((c) => c.id!)),
    patientIds: new Set([...coverages, ...claims].flatMap(patientsOfResource)),
  };
}
