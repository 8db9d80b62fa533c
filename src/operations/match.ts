import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import { resourceUrl } from '../fhir/bundle';
import type { Bundle, BundleEntry, Parameters, Patient } from '../fhir/types';
import type { Services } from '../interactions/services';
import { findCandidates } from '../match/candidates';
import { matchFields } from '../match/patient-fields';
import { scoreCandidate, type MatchGrade } from '../match/score';
import type { OperationDescriptor } from './descriptor';

export const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';

/** Without `count`, this many candidates at most. */
const DEFAULT_MATCH_COUNT = 10;
const MAX_MATCH_COUNT = 100;

interface MatchRequest {
  patient: Patient;
  onlyCertainMatches: boolean;
  count: number;
}

type Parameter = NonNullable<Parameters['parameter']>[number];

/** The Parameters of `Patient/$match` (patient-match.html): `resource` (required), `onlyCertainMatches`, `count`. */
function parseMatchRequest(body: unknown): MatchRequest {
  const parameters = body as Parameters | undefined;
  if (parameters?.resourceType !== 'Parameters') throw badRequest('$match takes a Parameters resource', ['resourceType']);
  const named = (name: string): Parameter | undefined => parameters.parameter?.find((p) => p.name === name);
  const patient = named('resource')?.resource;
  if (patient?.resourceType !== 'Patient') throw badRequest('$match needs a "resource" parameter holding a Patient', ['Parameters.parameter']);
  const only = named('onlyCertainMatches');
  if (only !== undefined && typeof only.valueBoolean !== 'boolean') throw badRequest('onlyCertainMatches must be a valueBoolean', ['Parameters.parameter']);
  const count = named('count');
  if (count !== undefined && (!Number.isInteger(count.valueInteger) || (count.valueInteger as number) < 1)) {
    throw badRequest('count must be a valueInteger of at least 1', ['Parameters.parameter']);
  }
  return {
    patient: patient as Patient,
    onlyCertainMatches: only?.valueBoolean ?? false,
    count: Math.min(count?.valueInteger ?? DEFAULT_MATCH_COUNT, MAX_MATCH_COUNT),
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
  const request = parseMatchRequest(body);
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
  parameters: [
    { name: 'resource', type: 'Resource', min: 1, max: 1, documentation: 'The Patient to match' },
    { name: 'onlyCertainMatches', type: 'boolean', min: 0, max: 1 },
    { name: 'count', type: 'integer', min: 0, max: 1 },
  ],
  handler: async (services, ctx, { resource }) => ({ body: await matchPatients(services, ctx, resource) }),
};
