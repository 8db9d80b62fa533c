import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import { resourceUrl } from '../fhir/bundle';
import type { AnyResource, Bundle, BundleEntry, Patient } from '../fhir/types';
import { assertValid } from '../interactions/resource-body';
import type { Services } from '../interactions/services';
import { findCandidates } from '../match/candidates';
import { matchFields } from '../match/patient-fields';
import { scoreCandidate, type MatchGrade } from '../match/score';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf } from './parameters';

export const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';

/** Without `count`, this many candidates at most. */
const DEFAULT_MATCH_COUNT = 10;
const MAX_MATCH_COUNT = 100;

interface MatchRequest {
  patient: Patient;
  onlyCertainMatches: boolean;
  count: number;
}

/** The parameters of `Patient/$match` (patient-match.html), as its OperationDefinition declares them. */
const MATCH_PARAMETERS: readonly OperationParameter[] = [
  { name: 'resource', type: 'Resource', resourceType: 'Patient', min: 1, max: 1, documentation: 'The Patient to match' },
  { name: 'onlyCertainMatches', type: 'boolean', min: 0, max: 1 },
  { name: 'count', type: 'positiveInt', min: 0, max: 1 },
];

/**
 * Longest name (family or given, as sent) that $match compares. Real names
 * are far shorter; the limit keeps the scoring and the candidate searches
 * bounded (documented in the README's $match section).
 */
export const MAX_MATCH_NAME_LENGTH = 200;

/** Names longer than the limit are refused rather than truncated: a clipped name would match other people. */
function assertNamesBounded(patient: Patient): void {
  for (const [i, name] of (patient.name ?? []).entries()) {
    for (const value of [name.family, ...(name.given ?? [])]) {
      if (typeof value === 'string' && value.length > MAX_MATCH_NAME_LENGTH) {
        throw badRequest(`$match compares names of at most ${MAX_MATCH_NAME_LENGTH} characters`, [`Patient.name[${i}]`]);
      }
    }
  }
}

function parseMatchRequest(services: Services, body: unknown): MatchRequest {
  const parts = checkParameters('$match', MATCH_PARAMETERS, body);
  const patient = valueOf<Patient>(parts, 'resource', 'resource') as Patient;
  // The Patient is read field by field below: its shape must be a Patient's (422 otherwise).
  assertValid(services.validator, patient as unknown as AnyResource);
  assertNamesBounded(patient);
  return {
    patient,
    onlyCertainMatches: valueOf<boolean>(parts, 'onlyCertainMatches', 'valueBoolean') ?? false,
    count: Math.min(valueOf<number>(parts, 'count', 'valuePositiveInt', 'valueInteger') ?? DEFAULT_MATCH_COUNT, MAX_MATCH_COUNT),
  };
}

function matchEntry(baseUrl: string, patient: Patient & { id: string }, score: number, grade: MatchGrade): BundleEntry {
  return {
    fullUrl: resourceUrl(baseUrl, { resourceType: 'Patient', id: patient.id }),
    resource: patient,
    search: { mode: 'match', score, extension: [{ url: MATCH_GRADE_URL, valueCode: grade }] },
  };
}

/**
 * `POST Patient/$match`: the Patients already on file that may be the one
 * described, best first, each with its score and match grade. Candidates
 * come from indexed searches (match/candidates.ts) and are scored by
 * match/score.ts; `certainly-not` candidates are left out.
 */
export async function matchPatients(services: Services, ctx: RequestContext, body: unknown): Promise<Bundle> {
  const request = parseMatchRequest(services, body);
  const wanted = matchFields(request.patient);
  const candidates = await findCandidates(services.storage, ctx, wanted);
  const scored = candidates
    .map((record) => ({ patient: record.resource as Patient & { id: string }, ...scoreCandidate(wanted, matchFields(record.resource as Patient)) }))
    .filter(({ grade }) => (request.onlyCertainMatches ? grade === 'certain' : grade !== 'certainly-not'))
    // A shared identifier outranks any demographic score, even a perfect one.
    .sort((a, b) => Number(b.grade === 'certain') - Number(a.grade === 'certain') || b.score - a.score || a.patient.id.localeCompare(b.patient.id))
    .slice(0, request.count);
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: scored.length,
    entry: scored.map(({ patient, score, grade }) => matchEntry(ctx.baseUrl, patient, score, grade)),
  };
}

/** `Patient/$match` is a search by example: it needs what a search needs. */
export const matchOperation: OperationDescriptor = {
  code: 'match',
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
  documentation: 'Scored candidates for a Patient: identifiers, names, birth date, gender, telecom, postal code',
  resourceTypes: ['Patient'],
  affectsState: false,
  get: [],
  post: ['type'],
  permissions: { type: ['s'] },
  parameters: MATCH_PARAMETERS,
  returns: { type: 'Bundle', documentation: 'A searchset of the candidates, best first, each with its score and match grade' },
  handler: async (services, ctx, { resource, parameters }) => ({ body: await matchPatients(services, ctx, resource ?? parameters) }),
};
