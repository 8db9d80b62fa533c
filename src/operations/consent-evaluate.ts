/**
 * `POST /Consent/$evaluate` (a Concord operation): why may (or may not) this
 * actor, for this purpose, see this resource? In: Parameters `actor`
 * (valueReference), `purpose` (valueCode; default: the actor's), `resource`
 * (valueReference), optional `action` (valueCode `access` or `correct`). Out:
 * Parameters `decision` (valueCode permit | deny), `basis` (valueReference to
 * the deciding Consent, or valueString naming the base-policy rule), `path`
 * (valueString: the matched provisions, root first; absent when none),
 * `breakGlass` (valueBoolean) and, when a sensitive resource was withheld,
 * `withheld` (the permit that step 5 overrode).
 *
 * Asking is itself a disclosure, so only the operator, a patient of the
 * resource and practitioners treating one of its patients may ask: 403 for
 * anyone else, also when the resource does not exist.
 */
import type { Parameters, ParametersParameter, Reference } from 'fhir/r4';
import type { RequestContext } from '../context';
import { badRequest, FhirError, notFound } from '../errors';
import type { AnyResource } from '../fhir/types';
import type { Services } from '../interactions/services';
import { createIndexer } from '../search/indexer';
import {
  defaultPurpose,
  explainDecision,
  localReference,
  mayActFor,
  patientsOf,
  readCurrent,
  resolveActor,
  type Basis,
  type ConsentAction,
  type Decision,
} from '../security/consent';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf } from './parameters';

interface EvaluateRequest {
  actor: string;
  purpose?: string;
  resource: string;
  action: ConsentAction;
}

/** The parameters of `Consent/$evaluate`, declared as an OperationDefinition would. */
const EVALUATE_PARAMETERS: readonly OperationParameter[] = [
  { name: 'actor', type: 'reference', min: 1, max: 1 },
  { name: 'purpose', type: 'code', min: 0, max: 1 },
  { name: 'resource', type: 'reference', min: 1, max: 1 },
  { name: 'action', type: 'code', min: 0, max: 1, documentation: 'access (default) or correct' },
];

function parseRequest(body: unknown, baseUrl: string): EvaluateRequest {
  const parts = checkParameters('$evaluate', EVALUATE_PARAMETERS, body);
  const reference = (name: string) => {
    const ref = localReference(valueOf<Reference>(parts, name, 'valueReference')?.reference, baseUrl);
    if (!ref || !/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(ref)) throw badRequest(`$evaluate needs "${name}" as a valueReference to a resource on this server`, [name]);
    return ref;
  };
  const action = valueOf<string>(parts, 'action', 'valueCode') ?? 'access';
  if (action !== 'access' && action !== 'correct') throw badRequest('"action" must be access or correct', ['action']);
  const purpose = valueOf<string>(parts, 'purpose', 'valueCode');
  return { actor: reference('actor'), resource: reference('resource'), action, ...(purpose ? { purpose } : {}) };
}

const forbidden = () => FhirError.of(403, 'forbidden', 'Only the operator, the patient and their treating practitioners may ask for a consent decision');

async function assertMayAsk(services: Services, ctx: RequestContext, patients: readonly string[]): Promise<void> {
  if (!(await mayActFor(services.storage, ctx, patients, 'some'))) throw forbidden();
}

const basisPart = (name: string, basis: Basis): ParametersParameter =>
  'consent' in basis ? { name, valueReference: { reference: basis.consent } } : { name, valueString: basis.rule };

function answer(decision: Decision | undefined): Parameters {
  if (!decision) {
    return { resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: 'permit' }, { name: 'basis', valueString: 'outside-patient-compartment' }] };
  }
  const parts: ParametersParameter[] = [{ name: 'decision', valueCode: decision.decision }, basisPart('basis', decision.basis)];
  if (decision.path.length > 0) parts.push({ name: 'path', valueString: decision.path.join(' > ') });
  parts.push({ name: 'breakGlass', valueBoolean: decision.breakGlass });
  if (decision.patientId) parts.push({ name: 'patient', valueReference: { reference: `Patient/${decision.patientId}` } });
  if (decision.withheld) parts.push(basisPart('withheld', decision.withheld));
  return { resourceType: 'Parameters', parameter: parts };
}

/** Defined on Consent only: the route (src/rest/routes.ts) answers 404 for any other type before this runs. */
export async function evaluateConsent(services: Services, ctx: RequestContext, body: unknown): Promise<Parameters> {
  const request = parseRequest(body, ctx.baseUrl);
  const indexer = createIndexer({ baseUrl: ctx.baseUrl });
  const resource = await readCurrent<AnyResource>(services.storage, ctx, request.resource);
  if (!resource) {
    if (ctx.principal.kind !== 'operator') throw forbidden();
    throw notFound(`${request.resource} is not known`);
  }
  await assertMayAsk(services, ctx, patientsOf({ resourceType: resource.resourceType, id: resource.id!, entries: indexer(resource) }));
  const actor = await resolveActor(services.storage, ctx, { fhirUser: request.actor });
  const purpose = request.purpose ?? defaultPurpose(actor);
  return answer(await explainDecision(services.storage, ctx, indexer, { actor, purpose, action: request.action, resource }));
}

/** `Consent/$evaluate` decides itself who may ask (the consent layer): any grant on Consent gets there. */
export const evaluateOperation: OperationDescriptor = {
  code: 'evaluate',
  definition: 'OperationDefinition/Consent-evaluate',
  documentation:
    'POST a Parameters with actor (valueReference), purpose (valueCode, v3-ActReason) and resource (valueReference); the answer is a Parameters with decision (valueCode permit | deny), basis (valueReference to the deciding Consent, or valueString naming the base-policy rule) and path (valueString, the matched provisions). Only the operator, the patient and their treating practitioners may ask.',
  resourceTypes: ['Consent'],
  affectsState: false,
  get: [],
  post: ['type'],
  permissions: { type: [] },
  parameters: EVALUATE_PARAMETERS,
  handler: async (services, ctx, { resource, parameters }) => ({ body: await evaluateConsent(services, ctx, resource ?? parameters) }),
};
