/**
 * `QuestionnaireResponse/[id]/$extract`, and at type level with the
 * response in `questionnaire-response` (SDC 3.0.0,
 * http://hl7.org/fhir/uv/sdc/STU3/OperationDefinition-QuestionnaireResponse-extract.html):
 * the transaction Bundle the response yields (src/forms/extract.ts), returned
 * and not stored. The response, its Questionnaire and its subject are read
 * as the caller.
 */
import type { Bundle, Questionnaire, QuestionnaireResponse, Resource } from 'fhir/r4';
import type { RequestContext } from '../context';
import { badRequest, FhirError } from '../errors';
import { searchParameter } from '../fhir/definitions';
import { extract } from '../forms/extract';
import { readResource } from '../interactions/read';
import type { Services } from '../interactions/services';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters } from './parameters';
import { contextFor, questionnaireByCanonical, readVisible } from './populate';

const EXTRACT_PARAMETERS: readonly OperationParameter[] = [
  { name: 'questionnaire-response', type: 'Resource', resourceType: 'QuestionnaireResponse', min: 0, max: 1, documentation: 'At type level: the response (with its id, which the derived identifiers use)' },
];

/** The element that names the patient on `type`: the path of its `patient` search parameter (`Condition.subject.where(...)` → `subject`). */
export function patientElementOf(type: string): string | undefined {
  const expression = searchParameter(type, 'patient')?.expression ?? '';
  const own = expression.split('|').map((part) => part.trim()).find((part) => part.startsWith(`${type}.`));
  return own ? /^[A-Za-z]+\.([A-Za-z]+)/.exec(own)?.[1] : undefined;
}

async function responseOf(services: Services, ctx: RequestContext, id: string | undefined, body: unknown): Promise<QuestionnaireResponse & { id: string }> {
  if (id !== undefined) return (await readResource(services, ctx, 'QuestionnaireResponse', id)).resource as unknown as QuestionnaireResponse & { id: string };
  const parts = checkParameters('$extract', EXTRACT_PARAMETERS, body ?? { resourceType: 'Parameters' });
  const response = parts.get('questionnaire-response')?.[0]?.resource as QuestionnaireResponse | undefined;
  if (!response) throw badRequest('$extract needs questionnaire-response (or invoke it on QuestionnaireResponse/[id])', ['questionnaire-response']);
  if (!response.id) throw badRequest('The questionnaire-response needs an id: the extracted resources are identified by it', ['questionnaire-response']);
  return response as QuestionnaireResponse & { id: string };
}

export async function extractResponse(services: Services, ctx: RequestContext, id: string | undefined, body: unknown): Promise<{ body: Bundle; disclosed: Resource[] }> {
  const response = await responseOf(services, ctx, id, body);
  const readCtx = await contextFor(ctx, 'r');
  const canonical = response.questionnaire;
  if (!canonical) throw FhirError.of(422, 'invalid', 'The response names no questionnaire', ['QuestionnaireResponse.questionnaire']);
  const questionnaire: Questionnaire = await questionnaireByCanonical(services, readCtx, canonical);
  const subjectRef = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(response.subject?.reference ?? '');
  const subject = subjectRef ? await readVisible(services, readCtx, subjectRef[1] ?? '', subjectRef[2] ?? '') : undefined;
  const bundle = extract({ questionnaire, response, ...(subject ? { subject } : {}), patientElementOf });
  return { body: bundle, disclosed: [response, ...(subject ? [subject] : [])] };
}

/** Reads the response: read rights on QuestionnaireResponse at both levels. */
export const extractOperation: OperationDescriptor = {
  code: 'extract',
  definition: 'http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract',
  documentation:
    'SDC $extract: observation-based (observationExtract) and definition-based (itemExtractionContext with a type code, item.definition, definitionExtractValue) extraction, and a PATCH adding answered elements of the subject. Answers a transaction Bundle (not stored) of conditional creates on derived identifiers, with a Provenance, so posting it twice creates nothing new (docs/forms.md).',
  resourceTypes: ['QuestionnaireResponse'],
  affectsState: false,
  get: [],
  post: ['type', 'instance'],
  permissions: { type: ['r'], instance: ['r'] },
  parameters: EXTRACT_PARAMETERS,
  handler: async (services, ctx, { id, resource }) => extractResponse(services, ctx, id, resource),
};
