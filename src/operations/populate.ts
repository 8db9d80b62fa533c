/**
 * `Questionnaire/$populate` and `Questionnaire/[id]/$populate` (SDC 3.0.0,
 * http://hl7.org/fhir/uv/sdc/STU3/OperationDefinition-Questionnaire-populate.html):
 * a QuestionnaireResponse filled from the record (src/forms/populate.ts).
 *
 * Everything is read as the caller: the questionnaire, the subject, the
 * launch contexts and every query, through the same access filter as the
 * REST API. A subject the caller may not see is answered 200 with a form
 * that holds nothing of that subject's data, not a 404, so the answer does
 * not tell whether the subject exists.
 */
import type { Bundle, OperationOutcome, Parameters, ParametersParameter, Questionnaire, Reference, Resource } from 'fhir/r4';
import type { RequestContext } from '../context';
import { badRequest, FhirError } from '../errors';
import { populate, type FormData } from '../forms/populate';
import { DEFAULT_FORM_LIMITS, type FormLimits } from '../forms/limits';
import type { QueryPairs } from '../interactions/conditional';
import { readResource } from '../interactions/read';
import { search } from '../interactions/search';
import type { Services } from '../interactions/services';
import type { Permission } from '../security/scopes/scope';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, type ParameterParts, valueOf } from './parameters';

const POPULATE_PARAMETERS: readonly OperationParameter[] = [
  { name: 'identifier', type: 'string', min: 0, max: 1, documentation: 'Not supported: name the questionnaire by questionnaire, questionnaireRef or canonical' },
  { name: 'canonical', type: 'uri', min: 0, max: 1, documentation: 'The Questionnaire by its url (url|version)' },
  { name: 'questionnaire', type: 'Resource', resourceType: 'Questionnaire', min: 0, max: 1 },
  { name: 'questionnaireRef', type: 'reference', min: 0, max: 1 },
  { name: 'subject', type: 'reference', min: 1, max: 1, documentation: 'The patient (or other subject) the form is about' },
  {
    name: 'context',
    type: 'part',
    min: 0,
    max: '*',
    parts: [
      { name: 'name', type: 'string', min: 1, max: 1 },
      { name: 'content', type: 'Resource', min: 1, max: 1, documentation: 'A Reference (valueReference) or the resource itself' },
    ],
    documentation: 'A launch context: part name (patient, encounter, user...) and part content (valueReference or resource)' },
  { name: 'local', type: 'boolean', min: 0, max: 1, documentation: 'Ignored: population always uses this server only' },
];

/** A local reference `Type/id` (relative, or under this server's base URL); undefined otherwise. */
function localParts(reference: string | undefined, baseUrl: string): { type: string; id: string } | undefined {
  if (!reference) return undefined;
  const relative = reference.startsWith(`${baseUrl}/`) ? reference.slice(baseUrl.length + 1) : reference;
  const match = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(relative);
  return match ? { type: match[1] ?? '', id: match[2] ?? '' } : undefined;
}

/** Reads as the caller; a resource it may not see, or that is gone, is absent. */
export async function readVisible(services: Services, ctx: RequestContext, type: string, id: string): Promise<Resource | undefined> {
  try {
    return (await readResource(services, ctx, type, id)).resource;
  } catch (error) {
    if (error instanceof FhirError && (error.status === 404 || error.status === 410)) return undefined;
    throw error;
  }
}

/**
 * The request's context with the caller's access filter for `permission`
 * (admission's `accessFor`), so that what an operation reads on the side is
 * filtered as the caller's own read or search would be. Without `accessFor`
 * (no admission: internal work) the context is used as it is.
 */
export async function contextFor(ctx: RequestContext, permission: Permission): Promise<RequestContext> {
  if (!ctx.accessFor) return ctx;
  const access = await ctx.accessFor(permission);
  const { access: _admitted, ...rest } = ctx;
  return access ? { ...rest, access } : rest;
}

/** The contexts population reads and searches with. */
interface FormContexts {
  read: RequestContext;
  search: RequestContext;
}

const formContexts = async (ctx: RequestContext): Promise<FormContexts> => ({ read: await contextFor(ctx, 'r'), search: await contextFor(ctx, 's') });

/** The record as `$populate` sees it: the caller's reads and searches, nothing more. */
function callerFormData(services: Services, { read: readCtx, search: ctx }: FormContexts): FormData {
  return {
    read: (type, id) => readVisible(services, readCtx, type, id),
    search: async (query, limit) => {
      const relative = query.startsWith(`${ctx.baseUrl}/`) ? query.slice(ctx.baseUrl.length + 1) : query.replace(/^\//, '');
      const [type = '', rest = ''] = relative.split(/\?(.*)/s);
      if (!/^[A-Z][A-Za-z]+$/.test(type)) throw badRequest(`the query ${query} does not name a resource type`);
      const pairs: QueryPairs = [...new URLSearchParams(rest)].filter(([key]) => key !== '_count');
      pairs.push(['_count', String(limit)]);
      const bundle = await search(services, ctx, type, pairs, { strict: true });
      // Only the matches: includes and the warning OperationOutcome are not rows of the query.
      return { ...bundle, entry: (bundle.entry ?? []).filter((entry) => entry.search?.mode !== 'outcome' && entry.search?.mode !== 'include') } as Bundle;
    },
  };
}

/** The canonical a response names: the questionnaire's `url|version`, else a reference to the stored one. */
function canonicalOf(questionnaire: Questionnaire): string {
  if (questionnaire.url) return questionnaire.version ? `${questionnaire.url}|${questionnaire.version}` : questionnaire.url;
  return questionnaire.id ? `Questionnaire/${questionnaire.id}` : '#';
}

/** The Questionnaire a canonical names (`url|version`, or a local `Questionnaire/id`), read with `ctx`: 404 when not visible, 422 when ambiguous. */
export async function questionnaireByCanonical(services: Services, ctx: RequestContext, canonical: string): Promise<Questionnaire> {
  const notVisible = () => FhirError.of(404, 'not-found', `The Questionnaire ${canonical} is not known`);
  const local = localParts(canonical, ctx.baseUrl);
  if (local?.type === 'Questionnaire') {
    const found = await readVisible(services, ctx, 'Questionnaire', local.id);
    if (!found) throw notVisible();
    return found as Questionnaire;
  }
  const [url = '', version] = canonical.split('|');
  const pairs: QueryPairs = [['url', url], ...(version ? ([['version', version]] as QueryPairs) : []), ['_count', '2']];
  const bundle = await search(services, ctx, 'Questionnaire', pairs, { strict: true });
  const matches = (bundle.entry ?? []).filter((entry) => entry.search?.mode === 'match');
  if (matches.length === 0) throw notVisible();
  if (matches.length > 1) throw FhirError.of(422, 'multiple-matches', `Several Questionnaires have the url ${canonical}: name a version`);
  return matches[0]?.resource as Questionnaire;
}

async function questionnaireOf(services: Services, ctx: RequestContext, id: string | undefined, parts: ParameterParts): Promise<Questionnaire> {
  const notVisible = (what: string) => FhirError.of(404, 'not-found', `${what} is not known`);
  if (id !== undefined) return (await readResource(services, ctx, 'Questionnaire', id)).resource as unknown as Questionnaire;
  const inline = parts.get('questionnaire')?.[0]?.resource as Questionnaire | undefined;
  if (inline) return inline;
  const ref = valueOf<Reference>(parts, 'questionnaireRef', 'valueReference')?.reference;
  if (ref !== undefined) {
    const local = localParts(ref, ctx.baseUrl);
    if (!local || local.type !== 'Questionnaire') throw badRequest('questionnaireRef must reference a Questionnaire on this server', ['questionnaireRef']);
    const found = await readVisible(services, ctx, 'Questionnaire', local.id);
    if (!found) throw notVisible(ref);
    return found as Questionnaire;
  }
  const canonical = valueOf<string>(parts, 'canonical', 'valueUri');
  if (canonical !== undefined) return questionnaireByCanonical(services, ctx, canonical);
  throw badRequest('$populate needs the questionnaire: questionnaire, questionnaireRef or canonical (or invoke it on Questionnaire/[id])');
}

/** The launch contexts: the subject as `patient` when it is one, each `context` part, and the caller as `user`. */
async function launchContexts(services: Services, ctx: RequestContext, subject: Reference, parts: ParameterParts): Promise<Record<string, Resource | undefined>> {
  const contexts: Record<string, Resource | undefined> = {};
  const readRef = async (reference: string | undefined): Promise<Resource | undefined> => {
    const local = localParts(reference, ctx.baseUrl);
    return local ? readVisible(services, ctx, local.type, local.id) : undefined;
  };
  const subjectParts = localParts(subject.reference, ctx.baseUrl);
  if (!subjectParts) throw badRequest('subject must reference a resource on this server', ['subject']);
  if (subjectParts.type === 'Patient') contexts.patient = await readRef(subject.reference);
  if (ctx.principal.kind === 'user') contexts.user = await readRef(ctx.principal.fhirUser);
  for (const part of parts.get('context') ?? []) {
    const sub = (part.part as ParametersParameter[] | undefined) ?? [];
    const name = sub.find((p) => p.name === 'name');
    const content = sub.find((p) => p.name === 'content');
    const key = name?.valueString ?? name?.valueCode ?? name?.valueId;
    if (!key || !content) throw badRequest('each context needs a name and a content', ['context']);
    // A resource given inline is the caller's own data; a reference is read with the caller's access.
    contexts[key] = content.resource ?? (await readRef(content.valueReference?.reference));
  }
  return contexts;
}

export async function populateQuestionnaire(
  services: Services,
  ctx: RequestContext,
  id: string | undefined,
  body: unknown,
  limits: FormLimits = DEFAULT_FORM_LIMITS,
): Promise<{ body: Parameters; disclosed: Resource[] }> {
  const parts = checkParameters('$populate', POPULATE_PARAMETERS, body ?? { resourceType: 'Parameters' });
  if (parts.has('identifier')) throw badRequest('$populate by identifier is not supported: use questionnaire, questionnaireRef or canonical', ['identifier']);
  const subject = valueOf<Reference>(parts, 'subject', 'valueReference') ?? {};
  const contexts = await formContexts(ctx);
  // The questionnaire named by its canonical is looked up like a read of it (one resource), not a search of the caller's.
  const questionnaire = await questionnaireOf(services, id === undefined ? contexts.read : ctx, id, parts);
  const launchContext = await launchContexts(services, contexts.read, subject, parts);
  const result = await populate(
    { questionnaire, questionnaireCanonical: canonicalOf(questionnaire), subject, launchContext, now: ctx.now, limits },
    callerFormData(services, contexts),
  );
  const parameter: ParametersParameter[] = [{ name: 'response', resource: result.response }];
  if (result.issues.length > 0) {
    const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: result.issues };
    parameter.push({ name: 'issues', resource: outcome });
  }
  return { body: { resourceType: 'Parameters', parameter }, disclosed: result.disclosed };
}

/** Needs read rights on Questionnaire; what the form draws from is filtered by the caller's own access. */
export const populateOperation: OperationDescriptor = {
  code: 'populate',
  definition: 'http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate',
  documentation:
    'SDC $populate: launchContext, variables (FHIRPath and x-fhir-query), itemPopulationContext, initialExpression, observationLinkPeriod and initial[x]. Every read runs with the caller\'s own access; at most 100 resources per query, 20,000 FHIRPath steps per expression and 1 s per population (docs/forms.md).',
  resourceTypes: ['Questionnaire'],
  affectsState: false,
  get: [],
  post: ['type', 'instance'],
  permissions: { type: ['r'], instance: ['r'] },
  parameters: POPULATE_PARAMETERS,
  handler: (services, ctx, { id, resource }) => populateQuestionnaire(services, ctx, id, resource),
};
