/**
 * `GET /Patient/:id/$everything` (http://hl7.org/fhir/R4/patient-operation-everything.html):
 * the part of the patient's compartment this request may see, and the
 * resources those reference, paged. It is a compartment search (`/Patient/id/*`)
 * with `_include=*`, so the access filter (scopes and consent) applies inside
 * the same queries as for any search, includes and totals included.
 */
import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import type { Bundle } from '../fhir/types';
import type { QueryPairs } from '../interactions/conditional';
import { CURSOR_PARAM, FORMAT_PARAMS, OFFSET_PARAM } from '../interactions/paging';
import { readResource } from '../interactions/read';
import { search } from '../interactions/search';
import type { Services } from '../interactions/services';
import type { OperationDescriptor } from './descriptor';

const PASSED_ON = new Set(['_type', '_count', CURSOR_PARAM, OFFSET_PARAM, '_include', '_lastUpdated', ...FORMAT_PARAMS]);

/** `_since` is "changed since": the compartment search's `_lastUpdated=ge`. Paging links carry the translated form. */
function compartmentSearchPairs(pairs: QueryPairs): QueryPairs {
  const translated: QueryPairs = [];
  for (const [key, value] of pairs) {
    if (key === '_since') translated.push(['_lastUpdated', `ge${value}`]);
    else if (PASSED_ON.has(key)) translated.push([key, value]);
    else throw badRequest(`$everything does not support the parameter ${key}`, [key]);
  }
  if (!translated.some(([key]) => key === '_include')) translated.push(['_include', '*']);
  return translated;
}

/** Defined on Patient only: the route (src/rest/routes.ts) answers 404 for any other type before this runs. */
export async function patientEverything(services: Services, ctx: RequestContext, id: string, pairs: QueryPairs): Promise<Bundle> {
  // A patient this request may not see is answered as if it did not exist.
  await readResource(services, ctx, 'Patient', id);
  return search(services, ctx, undefined, compartmentSearchPairs(pairs), { strict: true, compartment: { type: 'Patient', id } });
}

/** `Patient/[id]/$everything`: reads and searches the compartment, so it needs both. */
export const everythingOperation: OperationDescriptor = {
  code: 'everything',
  definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  resourceTypes: ['Patient'],
  affectsState: false,
  get: ['instance'],
  post: [],
  permissions: { instance: ['r', 's'] },
  returns: { type: 'Bundle', documentation: 'A searchset of the compartment and what it references, paged' },
  parameters: [
    { name: '_since', type: 'instant', min: 0, max: 1, documentation: 'Only resources changed since this instant' },
    { name: '_type', type: 'code', min: 0, max: '*', documentation: 'Only resources of these types' },
    { name: '_count', type: 'integer', min: 0, max: 1, documentation: 'Page size' },
  ],
  handler: async (services, ctx, { id, query }) => ({ body: await patientEverything(services, ctx, id ?? '', query) }),
};
