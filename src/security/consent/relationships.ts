/**
 * The base policy's relationships (docs/access-control.md, "The decision", step 4), looked up for one
 * request with unfiltered queries: the patients the actor treats and what a
 * payer's Claims and Coverages reach. Looked up on every request, so a new
 * Encounter or Coverage counts on the very next one.
 */
import type { Claim } from 'fhir/r4';
import type { RequestContext } from '../../context';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import type { Condition, HasCondition } from '../../search/query';
import type { StorageOps } from '../../storage/port';
import { or, referenceParam } from './conditions';
import { patientsOf } from './patients-of';
import { localReference } from './provision-static';
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

/** What the payer rule opens for one payer: Claim and Coverage ids, and the patients they belong to. */
export interface PayerReach {
  claimIds: Set<string>;
  coverageIds: Set<string>;
  patientIds: Set<string>;
}

/**
 * Claims name the payer as `insurer` or through `insurance.coverage`. No
 * search parameter indexes `Claim.insurance.coverage`, so those Claims are
 * looked for among the Claims of the payer's Coverages' patients: a Claim
 * naming the payer's Coverage of somebody else is missed (a documented gap).
 */
export async function payerReach(ops: StorageOps, ctx: RequestContext, indexer: Indexer, payer: string): Promise<PayerReach> {
  const patientsOfResource = (r: AnyResource) => patientsOf({ resourceType: r.resourceType, id: r.id!, entries: indexer(r) });
  const coverages = await searchAll(ops, ctx, 'Coverage', [referenceParam('payor', [payer])]);
  const coverageRefs = new Set(coverages.map((c) => `Coverage/${c.id}`));
  const coveragePatients = [...new Set(coverages.flatMap(patientsOfResource))];
  const viaCoverage = coveragePatients.length === 0 ? [] : await searchAll<Claim & AnyResource>(ops, ctx, 'Claim', [referenceParam('patient', coveragePatients.map((id) => `Patient/${id}`))]);
  const namesPayerCoverage = (claim: Claim) =>
    (claim.insurance ?? []).some((i) => coverageRefs.has(localReference(i.coverage?.reference, ctx.baseUrl) ?? ''));
  const claims = [...(await searchAll(ops, ctx, 'Claim', [referenceParam('insurer', [payer])])), ...viaCoverage.filter(namesPayerCoverage)];
  return {
    claimIds: new Set(claims.map((c) => c.id!)),
    coverageIds: new Set(coverages.map((c) => c.id!)),
    patientIds: new Set([...coverages, ...claims].flatMap(patientsOfResource)),
  };
}
