import type { Binary, Parameters } from '../fhir/types';
import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import { evaluateConsent } from '../operations/consent-evaluate';
import { matchPatients } from '../operations/match';
import { validateType } from '../operations/validate';
import type { EntryResult } from './bundle-entry';
import { unsupportedRequest, type EntryRequest } from './bundle-request';
import { parseCriteria, type QueryPairs } from './conditional';
import { search } from './search';
import type { Services } from './services';

const FORM = 'application/x-www-form-urlencoded';

/** The value of a Parameters part as a search value: its one primitive `value[x]`. */
function primitiveValue(part: NonNullable<Parameters['parameter']>[number]): string | undefined {
  const entry = Object.entries(part).find(([key, value]) => key.startsWith('value') && ['string', 'number', 'boolean'].includes(typeof value));
  return entry && String(entry[1]);
}

/**
 * The parameters a `POST Type/_search` entry carries beside its URL's
 * (http.html#transaction: a search in a bundle has them in the URL, or in a
 * Parameters or form-encoded Binary resource); like the REST form body,
 * they combine with the URL's (AND).
 */
function bodyPairs(request: EntryRequest): QueryPairs {
  const where = `Bundle.entry[${request.index}].resource`;
  const body = request.resource as Parameters | Binary | undefined;
  if (body === undefined) return [];
  if (body?.resourceType === 'Parameters') {
    return (body.parameter ?? []).map((part, i): [string, string] => {
      const value = primitiveValue(part);
      if (typeof part.name !== 'string' || value === undefined) throw badRequest('A search parameter needs a name and a primitive value[x]', [`${where}.parameter[${i}]`]);
      return [part.name, value];
    });
  }
  if (body?.resourceType === 'Binary' && body.contentType === FORM && typeof body.data === 'string') {
    return parseCriteria(Buffer.from(body.data, 'base64').toString('utf8'));
  }
  throw badRequest(`A POST _search entry takes its parameters in the url, a Parameters resource or a Binary of ${FORM}`, [where]);
}

/**
 * A POST entry that only reads (`isReadOnlyPost`), through the functions
 * its REST route calls: a search by POST answers as the same search by GET,
 * an operation as its REST route (fhir-routes.ts) with `entry.resource` as
 * the body.
 */
export async function readOnlyPostEntry(services: Services, ctx: RequestContext, request: EntryRequest): Promise<EntryResult> {
  const [type, name] = request.segments;
  const body = request.resource;
  if (name === '_search') {
    const pairs = [...request.query, ...bodyPairs(request)];
    return { status: 200, bundle: await search(services, ctx, type, pairs, { strict: false }) };
  }
  if (name === '$match' && type === 'Patient') return { status: 200, bundle: await matchPatients(services, ctx, body) };
  if (name === '$validate') return { status: 200, body: validateType(services, type, body) };
  if (name === '$evaluate') return { status: 200, body: await evaluateConsent(services, ctx, type, body) };
  throw unsupportedRequest(request);
}
