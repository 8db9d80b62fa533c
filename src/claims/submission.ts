/**
 * The input forms of `Claim/$submit` (claim-operation-submit.html): a
 * Parameters whose `resource` is the Claim or a Bundle, or the Claim or
 * Bundle itself as the body. A Bundle is a `collection` whose first entry
 * is the Claim, followed by the resources it references (Da Vinci PAS's
 * request Bundle has the same shape).
 */
import type { Bundle, Claim } from 'fhir/r4';
import { badRequest, unprocessable } from '../errors';
import type { AnyResource } from '../fhir/types';

/** One resource sent beside the Claim, and the fullUrl other resources may name it by. */
export interface BundledResource {
  fullUrl?: string;
  resource: AnyResource;
}

export interface Submission {
  claim: Claim & AnyResource;
  bundled: BundledResource[];
  /** A Bundle was sent: the answer is a Bundle starting with the ClaimResponse. */
  asBundle: boolean;
}

/**
 * The types a claim bundle may carry: what a Claim references. Anything
 * else (a Consent, say) would be written around its own write rules, so it
 * is refused.
 */
export const BUNDLED_TYPES: readonly string[] = [
  'Patient',
  'Coverage',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'Encounter',
  'ServiceRequest',
  'Condition',
  'Procedure',
  'Observation',
  'Device',
  'MedicationRequest',
  'DeviceRequest',
  'RelatedPerson',
];

/** Most resources one submission may carry (a Synthea claim bundle has about 30). */
export const MAX_BUNDLED = 500;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const invalidInput = (diagnostics: string, expression: string) =>
  unprocessable([{ severity: 'error', code: 'invalid', diagnostics, expression: [expression] }]);

function fromBundle(bundle: Bundle): Submission {
  if (bundle.type !== 'collection') throw invalidInput('$submit takes a Bundle of type collection', 'Bundle.type');
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries) || entries.length === 0) throw invalidInput('The Bundle must start with the Claim', 'Bundle.entry[0]');
  if (entries.length > MAX_BUNDLED + 1) throw invalidInput(`A claim Bundle carries at most ${MAX_BUNDLED} resources beside the Claim`, 'Bundle.entry');
  const resources = entries.map((entry, i) => {
    if (!isObject(entry) || !isObject(entry.resource)) throw invalidInput('Every entry needs a resource', `Bundle.entry[${i}].resource`);
    return { entry, resource: entry.resource as unknown as AnyResource };
  });
  const [first, ...rest] = resources;
  if (first!.resource.resourceType !== 'Claim') throw invalidInput('The first entry of the Bundle must be the Claim', 'Bundle.entry[0].resource');
  const bundled = rest.map(({ entry, resource }, i): BundledResource => {
    if (!BUNDLED_TYPES.includes(resource.resourceType)) {
      throw invalidInput(`A claim Bundle may carry ${BUNDLED_TYPES.join(', ')}; not ${String(resource.resourceType)}`, `Bundle.entry[${i + 1}].resource`);
    }
    return { ...(typeof entry.fullUrl === 'string' ? { fullUrl: entry.fullUrl } : {}), resource };
  });
  return { claim: first!.resource as Claim & AnyResource, bundled, asBundle: true };
}

/** What `body` submits; 400 for a body of another shape. */
export function readSubmission(body: unknown): Submission {
  if (!isObject(body)) throw badRequest('$submit takes a Parameters, a Claim or a Bundle');
  let resource: unknown = body;
  if (body.resourceType === 'Parameters') {
    const parts = Array.isArray(body.parameter) ? body.parameter : [];
    const named = parts.filter((part): part is Record<string, unknown> => isObject(part) && part.name === 'resource');
    if (named.length !== 1 || !isObject(named[0]!.resource)) {
      throw badRequest('$submit: parameter "resource" (a Claim or a Bundle) is required once', ["Parameters.parameter.where(name = 'resource')"]);
    }
    if (parts.length !== 1) throw badRequest('$submit takes one parameter, "resource"', ['Parameters.parameter']);
    resource = named[0]!.resource;
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (type === 'Claim') return { claim: resource as Claim & AnyResource, bundled: [], asBundle: false };
  if (type === 'Bundle') return fromBundle(resource as Bundle);
  throw badRequest(`$submit takes a Claim or a Bundle, not ${String(type)}`, ['resourceType']);
}
