import type { FastifyRequest } from 'fastify';
import { FhirError } from '../errors';

export const FHIR_JSON = 'application/fhir+json';
export const JSON_PATCH = 'application/json-patch+json';
export const FORM = 'application/x-www-form-urlencoded';

/** The media types a client may ask for with `_format` or `Accept`, and what the answer is sent as. */
const JSON_ALIASES: Record<string, string> = {
  json: FHIR_JSON,
  'application/fhir+json': FHIR_JSON,
  'application/json+fhir': FHIR_JSON,
  'application/json': 'application/json',
};

const notAcceptable = (what: string) =>
  FhirError.of(406, 'not-supported', `${what}: this server speaks FHIR JSON only (application/fhir+json)`);

/** What the Bulk Data file request may ask for (export.html "File Request": `Accept: application/fhir+ndjson`). */
const NDJSON_RANGES = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

function mediaRanges(accept: string): string[] {
  return accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
}

/**
 * The content type of the response: `_format` wins over `Accept` (the spec
 * lets clients that cannot set headers use it). XML or anything else that is
 * not JSON is 406, answered in JSON. A route that serves NDJSON (`ndjson`)
 * accepts its media types too.
 */
export function responseMediaType(request: FastifyRequest, format: string | undefined, ndjson = false): string {
  if (format !== undefined) {
    const chosen = JSON_ALIASES[format.trim().toLowerCase()];
    if (!chosen) throw notAcceptable(`_format=${format}`);
    return chosen;
  }
  const accept = request.headers.accept;
  if (!accept) return FHIR_JSON;
  for (const range of mediaRanges(accept)) {
    if (range === '*/*' || range === 'application/*') return FHIR_JSON;
    // A route that answers NDJSON (its errors are still FHIR JSON).
    if (ndjson && NDJSON_RANGES.has(range)) return FHIR_JSON;
    const chosen = JSON_ALIASES[range];
    if (chosen) return chosen;
  }
  throw notAcceptable(`Accept: ${accept}`);
}

/** The base media type of the request body, lower-cased, parameters dropped. */
export function requestMediaType(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type'];
  return header ? header.split(';')[0]!.trim().toLowerCase() : undefined;
}

/** Refuses a body of a media type this interaction does not take (415). */
export function requireBodyType(request: FastifyRequest, allowed: string[]): void {
  const type = requestMediaType(request);
  if (type === undefined || !allowed.includes(type)) {
    throw FhirError.of(415, 'not-supported', `Content-Type must be ${allowed.join(' or ')}, got ${type ?? 'none'}`);
  }
}
