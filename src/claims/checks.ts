/**
 * The checks a submitted Claim must pass before it is queued for its
 * insurer (docs/claims.md, "Checks"). Each failure is one problem: a code
 * of CLAIM_CHECK_SYSTEM, a text that names the element, and the item's
 * sequence where it concerns an item. They become ClaimResponse.error
 * (claimresponse.html: error.itemSequence, error.code).
 */
import type { Claim, Coverage, Period } from 'fhir/r4';
import type { Issue } from '../errors';
import type { AnyResource } from '../fhir/types';
import { dateRange, MAX_INSTANT, MIN_INSTANT, type InstantRange } from '../search/date-range';
import type { Validator } from '../validation/validator';

export const CLAIM_CHECK_SYSTEM = 'urn:concord:CodeSystem:claim-check';

export interface ClaimProblem {
  code: string;
  /** Names the element first (`Claim.insurance[0].coverage: ...`). */
  text: string;
  itemSequence?: number;
}

/** Reads a local reference (`Type/id`) among the submitted and the stored resources; undefined when it names nothing. */
export type Lookup = (reference: string | undefined) => Promise<AnyResource | undefined>;

/** The `use` values of a Claim (claim-use, a required binding). */
export const CLAIM_USES: readonly string[] = ['claim', 'preauthorization', 'predetermination'];

/** Whether the stored record's `reference` names `target` (`Type/id`). */
export type SameReference = (reference: string | undefined, target: string) => boolean;

function range(period: Period | undefined): InstantRange {
  return {
    low: (period?.start ? dateRange(period.start)?.low : undefined) ?? MIN_INSTANT,
    high: (period?.end ? dateRange(period.end)?.high : undefined) ?? MAX_INSTANT,
  };
}

/** `billablePeriod` when present, otherwise `created`: what the Coverage's period must cover. */
function servicePeriod(claim: Claim): { range: InstantRange; element: string } | undefined {
  if (claim.billablePeriod) return { range: range(claim.billablePeriod), element: 'Claim.billablePeriod' };
  const created = claim.created ? dateRange(claim.created) : undefined;
  return created ? { range: created, element: 'Claim.created' } : undefined;
}

function structureProblems(validator: Validator, claim: Claim & AnyResource): ClaimProblem[] {
  return validator
    .validate(claim)
    .filter((issue: Issue) => issue.severity === 'error' || issue.severity === 'fatal')
    .map((issue) => ({ code: 'invalid', text: `${issue.expression?.[0] ?? 'Claim'}: ${issue.diagnostics}` }));
}

async function coverageProblems(claim: Claim, lookup: Lookup, same: SameReference, patient: string | undefined): Promise<ClaimProblem[]> {
  const problems: ClaimProblem[] = [];
  const served = servicePeriod(claim);
  for (const [i, insurance] of (claim.insurance ?? []).entries()) {
    const element = `Claim.insurance[${i}].coverage`;
    const reference = insurance.coverage?.reference;
    const coverage = (await lookup(reference)) as (Coverage & AnyResource) | undefined;
    if (coverage?.resourceType !== 'Coverage') {
      problems.push({ code: 'coverage-unknown', text: `${element}: ${reference ?? 'the reference'} names no Coverage on this server` });
      continue;
    }
    if (coverage.status !== 'active') problems.push({ code: 'coverage-inactive', text: `${element}: the Coverage is ${coverage.status}, not active` });
    if (patient === undefined || !same(coverage.beneficiary?.reference, patient)) {
      problems.push({ code: 'coverage-beneficiary', text: `${element}: the Coverage's beneficiary is not the Claim's patient` });
    }
    const covered = range(coverage.period);
    if (served && (served.range.low < covered.low || served.range.high > covered.high)) {
      problems.push({ code: 'coverage-period', text: `${element}: the Coverage's period does not cover ${served.element}` });
    }
    const insurer = claim.insurer?.reference;
    if (insurer !== undefined && !(coverage.payor ?? []).some((payor) => payor.reference !== undefined && same(insurer, payor.reference!))) {
      problems.push({ code: 'insurer-mismatch', text: `Claim.insurer: ${insurer} is not a payor of the Coverage named in ${element}` });
    }
  }
  return problems;
}

function itemProblems(claim: Claim): ClaimProblem[] {
  const problems: ClaimProblem[] = [];
  const seen = new Set<number>();
  const diagnoses = new Set((claim.diagnosis ?? []).map((d) => d.sequence));
  for (const [i, item] of (claim.item ?? []).entries()) {
    if (seen.has(item.sequence)) {
      problems.push({
        code: 'item-sequence-duplicate',
        text: `Claim.item[${i}].sequence: ${item.sequence} is used by an earlier item`,
        itemSequence: item.sequence,
      });
    }
    seen.add(item.sequence);
    for (const sequence of item.diagnosisSequence ?? []) {
      if (!diagnoses.has(sequence)) {
        problems.push({
          code: 'item-diagnosis-unknown',
          text: `Claim.item[${i}].diagnosisSequence: ${sequence} names no Claim.diagnosis`,
          itemSequence: item.sequence,
        });
      }
    }
  }
  return problems;
}

async function diagnosisProblems(claim: Claim, lookup: Lookup): Promise<ClaimProblem[]> {
  const problems: ClaimProblem[] = [];
  for (const [i, diagnosis] of (claim.diagnosis ?? []).entries()) {
    const reference = diagnosis.diagnosisReference?.reference;
    if (reference !== undefined && !(await lookup(reference))) {
      problems.push({ code: 'diagnosis-unknown', text: `Claim.diagnosis[${i}].diagnosisReference: ${reference} names no resource on this server` });
    }
  }
  return problems;
}

/** Every problem of the Claim, in the order of the checks (docs/claims.md); empty when it passes. */
export async function checkClaim(validator: Validator, claim: Claim & AnyResource, lookup: Lookup, same: SameReference): Promise<ClaimProblem[]> {
  const patientRef = claim.patient?.reference;
  const patient = await lookup(patientRef);
  const patientKnown = patient?.resourceType === 'Patient';
  return [
    ...structureProblems(validator, claim),
    ...(patientKnown ? [] : [{ code: 'patient-unknown', text: `Claim.patient: ${patientRef ?? 'the reference'} names no Patient on this server` }]),
    ...(await coverageProblems(claim, lookup, same, patientKnown ? `Patient/${patient.id}` : undefined)),
    ...itemProblems(claim),
    ...(await diagnosisProblems(claim, lookup)),
  ];
}
