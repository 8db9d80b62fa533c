/**
 * `GET /Patient/:id/$everything` (http://hl7.org/fhir/R4/patient-operation-everything.html):
 * the part of the patient's compartment this request may see, and the
 * resources those reference, paged. It is a compartment search (`/Patient/id/*`)
 * with `_include=*`, so the access filter (scopes and consent) applies inside
 * the same queries as for any search, includes and totals included.
 */
import type { RequestContext } from '../context';
import { badRequest, FhirError } from '../errors';
import type { Bundle } from '../fhir/types';
import type { QueryPairs } from '../interactions/conditional';
import { CURSOR_PARAM, FORMAT_PARAMS, OFFSET_PARAM } from '../interactions/paging';
import { readResource } from '../interactions/read';
import { search } from '../interactions/search';
import type { Services } from '../interactions/services';

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

export async function patientEverything(services: Services, ctx: RequestContext, type: string, id: string, pairs: QueryPairs): Promise<Bundle> {
  if (type !== 'Patient') throw FhirError.of(404, 'not-supported', `$everything is defined on Patient, not ${type}`);
  // A patient this request may not see is answered as if it did not exist.
  await readResource(services, ctx, 'Patient', id);
  return search(services, ctx, undefined, compartmentSearchPairs(pairs), { strict: true, compartment: { type: 'Patient', id } });
}
