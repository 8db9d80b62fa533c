/**
 * `Patient/$member-match` (HRex 1.1.0): a new payer, with the member's
 * Consent, asks this (old payer's) server for the member's identifier. The
 * match is deterministic and restricted to the old payer's Coverages
 * (`CoverageToMatch.payor`):
 *
 * 1. candidates: Coverages of that payor whose `identifier` (same system,
 *    when given) or `subscriberId` equals the member id or subscriber id
 *    `CoverageToMatch` states;
 * 2. their beneficiaries whose demographics agree: family name and birth
 *    date always, gender when given, and the `$match` scorer at `certain`
 *    or `probable` (family plans share a subscriber id: the demographics
 *    pick one, or none);
 * 3. exactly one Patient, else 422 with one wording for every failure, so an
 *    outside caller learns nothing of which part failed.
 *
 * On success the Consent is stored for the matched Patient (member-consent.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Consent, Coverage, Identifier, Parameters, Patient } from 'fhir/r4';
import type { RequestContext } from '../context';
import { FhirError, unprocessable } from '../errors';
import type { AnyResource } from '../fhir/types';
import { assertValid } from '../interactions/resource-body';
import type { Services } from '../interactions/services';
import { matchFields } from '../match/patient-fields';
import { scoreCandidate } from '../match/score';
import { parseSearch } from '../search/parse';
import { localReference, readCurrent, resolveActor } from '../security/consent';
import type { StorageOps } from '../storage/port';
import { consentToStore, readMemberConsent } from './member-consent';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

export interface MemberMatchInput {
  memberPatient: Patient;
  coverageToMatch: Coverage;
  coverageToLink?: Coverage;
  consent: Consent;
}

/** The one answer to every failed match: which part failed is not said. */
export const NO_MATCH = 'No unique member matches the given demographics and coverage';
const noMatch = () => unprocessable([{ severity: 'error', code: 'processing', diagnostics: NO_MATCH }]);
const invalid = (diagnostics: string, expression: string) => unprocessable([{ severity: 'error', code: 'invalid', diagnostics, expression: [expression] }]);

/** The operation's own reads: unfiltered, the match decides what is disclosed (the member's identifier, nothing else). */
function internal(ctx: RequestContext): RequestContext {
  const { access: _access, consentAccess: _consent, ...rest } = ctx;
  return rest;
}

async function searchIds(ops: StorageOps, ctx: RequestContext, pairs: Array<[string, string]>): Promise<AnyResource[]> {
  const { query } = parseSearch(['Coverage'], pairs, { strict: true, baseUrl: ctx.baseUrl });
  const page = await ops.search(ctx, { ...query, count: 100, offset: 0, total: 'none' });
  return page.records.flatMap((r) => (r.resource ? [r.resource as AnyResource] : []));
}

/** The token a stated id is searched with: `system|value` when the system is given, else the value in any system. */
const token = (id: Identifier) => (id.system ? `${id.system}|${id.value}` : (id.value ?? ''));

/** Step 1: the old payer's Coverages carrying one of the stated ids (identifier or subscriberId, either way round). */
async function candidateCoverages(ops: StorageOps, ctx: RequestContext, payor: string, stated: Coverage): Promise<AnyResource[]> {
  const ids: Identifier[] = [...(stated.identifier ?? []).filter((i) => i.value), ...(stated.subscriberId ? [{ value: stated.subscriberId }] : [])];
  if (ids.length === 0) throw invalid('CoverageToMatch needs a member id (identifier) or a subscriberId', 'CoverageToMatch');
  const found = new Map<string, AnyResource>();
  for (const id of ids) {
    for (const pair of [
      ['identifier', token(id)],
      ['subscriber-id', id.value!],
    ] as Array<[string, string]>) {
      for (const coverage of await searchIds(ops, ctx, [['payor', payor], pair])) found.set(coverage.id!, coverage);
    }
  }
  return [...found.values()];
}

/** Step 2: the demographics agree: family name and birth date, gender when given, and a strong enough score. */
function demographicsAgree(member: Patient, stored: Patient): boolean {
  const wanted = matchFields(member);
  const candidate = matchFields(stored);
  if (!wanted.families.some((family) => candidate.families.includes(family))) return false;
  if (wanted.birthDate !== candidate.birthDate) return false;
  if (wanted.gender !== undefined && wanted.gender !== candidate.gender) return false;
  const { grade } = scoreCandidate(wanted, candidate);
  return grade === 'certain' || grade === 'probable';
}

/** The member's identifier to answer: the stored Patient's of type MB, else one made of the matched Coverage's member id. */
function memberIdentifier(patient: Patient, coverage: Coverage): Identifier {
  const mb = (patient.identifier ?? []).find((i) => (i.type?.coding ?? []).some((c) => c.system === V2_0203 && c.code === 'MB'));
  if (mb) return mb;
  const id = coverage.identifier?.[0] ?? { value: coverage.subscriberId };
  return { type: { coding: [{ system: V2_0203, code: 'MB' }] }, ...(id.system ? { system: id.system } : {}), value: id.value! };
}

/** Who calls: the operator, or an Organization (a Backend Services client acting for it) that the Consent names as recipient. */
async function callerIdentities(ops: StorageOps, ctx: RequestContext): Promise<ReadonlySet<string> | undefined> {
  const principal = ctx.principal;
  if (principal.kind === 'operator') return undefined;
  if (principal.actorType !== 'Organization') throw FhirError.of(403, 'forbidden', '$member-match is called by a payer organization');
  return (await resolveActor(ops, internal(ctx), { fhirUser: principal.fhirUser })).identities;
}

export async function memberMatch(services: Services, ctx: RequestContext, input: MemberMatchInput): Promise<Parameters> {
  const ops = services.storage;
  const identities = await callerIdentities(ops, ctx);
  const member = readMemberConsent(input.consent, ctx.baseUrl, (ref) => identities?.has(ref) ?? false);
  if (identities && !identities.has(member.recipient)) throw FhirError.of(403, 'forbidden', 'The Consent does not name the caller as the requesting payer');
  for (const resource of [input.memberPatient, input.coverageToMatch, ...(input.coverageToLink ? [input.coverageToLink] : [])]) {
    assertValid(services.validator, resource as unknown as AnyResource);
  }
  const payor = localReference(input.coverageToMatch.payor?.[0]?.reference, ctx.baseUrl);
  if (!payor) throw invalid('CoverageToMatch.payor must name the old payer, an Organization on this server', 'CoverageToMatch.payor');
  const reads = internal(ctx);
  const coverages = await candidateCoverages(ops, reads, payor, input.coverageToMatch);
  const matched = new Map<string, { patient: Patient; coverage: Coverage }>();
  for (const coverage of coverages as Array<Coverage & AnyResource>) {
    const ref = localReference(coverage.beneficiary?.reference, ctx.baseUrl);
    const patient = ref?.startsWith('Patient/') ? await readCurrent<Patient>(ops, reads, ref) : undefined;
    if (patient && demographicsAgree(input.memberPatient, patient)) matched.set(patient.id!, { patient, coverage });
  }
  if (matched.size !== 1) throw noMatch();
  const [{ patient, coverage }] = [...matched.values()] as [{ patient: Patient; coverage: Coverage }];
  const consent = consentToStore(member, patient.id!, ctx.now) as unknown as AnyResource;
  consent.id = randomUUID();
  assertValid(services.validator, consent);
  await ops.create(reads, consent);
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'MemberIdentifier', valueIdentifier: memberIdentifier(patient, coverage) },
      { name: 'MemberId', valueReference: { reference: `Patient/${patient.id}` } },
    ],
  };
}
