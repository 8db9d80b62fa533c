/**
 * The ClaimResponses Concord writes for a submitted Claim
 * (claimresponse.html): `queued` for the insurer to decide, `error` with one
 * error per failed check, `complete` when automatic decisions are on, and
 * the cancellation of a Claim the provider withdrew.
 */
import { randomUUID } from 'node:crypto';
import type { Claim, ClaimResponse, ClaimResponseItem, Money, Reference } from 'fhir/r4';
import type { AnyResource } from '../fhir/types';
import { CLAIM_CHECK_SYSTEM, type ClaimProblem } from './checks';

export const ADJUDICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/adjudication';

export type StoredClaimResponse = ClaimResponse & AnyResource;

/** The disposition of a ClaimResponse whose Claim the provider cancelled. */
export const CANCELLED_DISPOSITION = 'cancelled';

const category = (code: string) => ({ coding: [{ system: ADJUDICATION_SYSTEM, code }] });

/** What every response to the Claim repeats of it (claimresponse.html: request, patient, insurer, requestor, use, type). */
function basis(claim: Claim, insurer: string, now: Date, request: Reference): StoredClaimResponse {
  return {
    resourceType: 'ClaimResponse',
    id: randomUUID(),
    status: 'active',
    type: claim.type,
    use: claim.use,
    patient: claim.patient,
    created: now.toISOString(),
    insurer: { reference: insurer },
    ...(claim.provider ? { requestor: claim.provider } : {}),
    request,
    outcome: 'queued',
  };
}

/** The Claim as ClaimResponse.request: its reference once stored, else its identifier. */
export function requestOf(claim: Claim, stored: boolean): Reference {
  if (stored) return { reference: `Claim/${claim.id}` };
  const identifier = claim.identifier?.[0];
  return identifier ? { identifier } : { display: 'The submitted Claim (not stored)' };
}

/** One error per problem, the code's text naming the element. */
export function errorResponse(claim: Claim, insurer: string, now: Date, request: Reference, problems: readonly ClaimProblem[]): StoredClaimResponse {
  return {
    ...basis(claim, insurer, now, request),
    outcome: 'error',
    disposition: 'The Claim failed the server checks: see error',
    error: problems.map((p) => ({
      ...(p.itemSequence !== undefined ? { itemSequence: p.itemSequence } : {}),
      code: { coding: [{ system: CLAIM_CHECK_SYSTEM, code: p.code }], text: p.text },
    })),
  };
}

/** A Claim that passed: queued for its insurer, with a preAuthRef for a prior authorization request. */
export function queuedResponse(claim: Claim, insurer: string, now: Date, request: Reference): StoredClaimResponse {
  const response = basis(claim, insurer, now, request);
  return claim.use === 'preauthorization' ? { ...response, preAuthRef: `PA-${response.id}` } : response;
}

/** Sums amounts of one currency; undefined when they differ or one is missing. */
function sum(amounts: ReadonlyArray<Money | undefined>): Money | undefined {
  if (amounts.length === 0 || amounts.some((m) => m?.value === undefined)) return undefined;
  const currencies = new Set(amounts.map((m) => m!.currency));
  if (currencies.size > 1) return undefined;
  const value = Math.round(amounts.reduce((total, m) => total + m!.value! * 100, 0)) / 100;
  return { value, ...(amounts[0]!.currency ? { currency: amounts[0]!.currency } : {}) };
}

/**
 * `CLAIMS_AUTO_ADJUDICATE=true`: complete at once, each item's adjudication
 * `submitted` and `benefit` at its `net`. A stand-in for an insurer, never
 * a decision (docs/claims.md).
 */
export function autoAdjudicated(claim: Claim, insurer: string, now: Date, request: Reference): StoredClaimResponse {
  const items: ClaimResponseItem[] = (claim.item ?? []).map((item) => ({
    itemSequence: item.sequence,
    adjudication: ['submitted', 'benefit'].map((code) => ({ category: category(code), ...(item.net ? { amount: item.net } : {}) })),
  }));
  const total = sum((claim.item ?? []).map((item) => item.net));
  return {
    ...queuedResponse(claim, insurer, now, request),
    outcome: 'complete',
    disposition: 'Adjudicated automatically by the server (CLAIMS_AUTO_ADJUDICATE)',
    ...(items.length > 0 ? { item: items } : {}),
    ...(total ? { total: ['submitted', 'benefit'].map((code) => ({ category: category(code), amount: total })) } : {}),
  };
}

/** The answer to a cancelled Claim: its response completes with a cancelled disposition. */
export function cancelledResponse(response: StoredClaimResponse): StoredClaimResponse {
  return { ...response, outcome: 'complete', disposition: CANCELLED_DISPOSITION };
}
