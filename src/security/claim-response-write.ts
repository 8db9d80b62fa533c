/**
 * Who may write a ClaimResponse by the REST API or a bundle (docs/claims.md,
 * "Adjudication"): the insurer the Claim it answers names, as the payer
 * Organization itself or a client acting for it, and the operator. A
 * provider's responses come from `Claim/$submit` only. An update or delete
 * must be allowed for the Claim of the stored version as well as of the new
 * one, so a response cannot be moved to another insurer's Claim. Hidden
 * targets were already answered 404 by the write-visibility rule.
 */
import type { Claim, ClaimResponse } from 'fhir/r4';
import type { RequestContext } from '../context';
import type { WriteChange } from './write-rules';
import { FhirError } from '../errors';
import type { StorageOps } from '../storage/port';
import { localReference, readCurrent, resolveActor } from './consent';

const forbidden = (why: string) => FhirError.of(403, 'forbidden', `This ClaimResponse may not be written: ${why}`);

/** The insurer of the Claim a response names: `Claim.insurer`, else the payors of its Coverages. */
async function insurersOf(ops: StorageOps, ctx: RequestContext, response: ClaimResponse | undefined): Promise<string[] | undefined> {
  const request = localReference(response?.request?.reference, ctx.baseUrl);
  if (!request?.startsWith('Claim/')) return undefined;
  const claim = await readCurrent<Claim>(ops, ctx, request);
  if (!claim) return undefined;
  const named = localReference(claim.insurer?.reference, ctx.baseUrl);
  if (named) return [named];
  const payors: string[] = [];
  for (const insurance of claim.insurance ?? []) {
    const coverage = await readCurrent<{ payor?: Array<{ reference?: string }> }>(ops, ctx, localReference(insurance.coverage?.reference, ctx.baseUrl) ?? '');
    for (const payor of coverage?.payor ?? []) {
      const ref = localReference(payor.reference, ctx.baseUrl);
      if (ref) payors.push(ref);
    }
  }
  return payors;
}

export async function assertClaimResponseWriteAllowed(ops: StorageOps, ctx: RequestContext, change: WriteChange): Promise<void> {
  if (change.resourceType !== 'ClaimResponse' || ctx.principal.kind === 'operator') return;
  const actor = await resolveActor(ops, ctx, { fhirUser: ctx.principal.fhirUser });
  const stored = change.kind === 'create' ? undefined : await readCurrent<ClaimResponse>(ops, ctx, `ClaimResponse/${change.id}`);
  const written = change.written as ClaimResponse | undefined;
  for (const response of [stored, written]) {
    if (!response) continue;
    const insurers = await insurersOf(ops, ctx, response);
    if (insurers === undefined) throw forbidden('it must name, in request, a Claim on this server');
    const insurer = insurers.find((ref) => actor.identities.has(ref));
    if (insurer === undefined) throw forbidden('only the insurer the Claim names answers it');
    if (response === written && localReference(written.insurer?.reference, ctx.baseUrl) !== insurer) {
      throw forbidden(`its insurer must be the Claim's, ${insurer}`);
    }
  }
}
