/**
 * The decision for one actor, purpose and resource, computed from storage the
 * way the request filter is (same lookups, same rules), with its reasons:
 * what `Consent/$evaluate` answers.
 */
import type { RequestContext } from '../../context';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import type { StorageOps } from '../../storage/port';
import type { ConsentActor } from './actor';
import { consentsOfPatient } from './consent-world';
import { decide, type Decision, type PatientCase } from './decision';
import type { ConsentAction } from './evaluation-env';
import { isPatientDataType, patientsOf } from './patients-of';
import { payerReach, treatedPatients, type PayerReach } from './relationships';

/** A ClaimResponse's insurer, relative (`Organization/x`). */
const insurerOf = (resource: AnyResource) => (resource as { insurer?: { reference?: string } }).insurer?.reference?.replace(/^.*\/(Organization\/[^/]+)$/, '$1');

function payerOpensResource(reach: PayerReach | undefined, resource: AnyResource, patientId: string): boolean {
  if (!reach) return false;
  if (resource.resourceType === 'Claim') return reach.claimIds.has(resource.id!);
  if (resource.resourceType === 'Coverage') return reach.coverageIds.has(resource.id!);
  if (resource.resourceType === 'ClaimResponse') return reach.patientIds.has(patientId) && insurerOf(resource) === reach.payer;
  return resource.resourceType === 'Patient' && reach.patientIds.has(patientId);
}

/** Undefined when the resource is in no patient compartment: consent does not govern it (the scopes alone do). */
export async function explainDecision(
  ops: StorageOps,
  ctx: RequestContext,
  indexer: Indexer,
  request: { actor: ConsentActor; purpose: string; action: ConsentAction; resource: AnyResource },
): Promise<Decision | undefined> {
  const { actor, purpose, action, resource } = request;
  if (!isPatientDataType(resource.resourceType)) return undefined;
  const facts = { resourceType: resource.resourceType, id: resource.id!, entries: indexer(resource) };
  const [treated, reach] = await Promise.all([
    treatedPatients(ops, ctx, actor.identities),
    actor.payer ? payerReach(ops, ctx, indexer, actor.reference) : Promise.resolve(undefined),
  ]);
  const cases: PatientCase[] = await Promise.all(
    patientsOf(facts).map(async (patientId) => ({
      patientId,
      consents: await consentsOfPatient(ops, ctx, patientId),
      base: { treatmentRelationship: treated.has(patientId), payerLinked: payerOpensResource(reach, resource, patientId) },
    })),
  );
  return decide({ actor, purpose, action, now: ctx.now.getTime(), baseUrl: ctx.baseUrl }, facts, cases);
}
