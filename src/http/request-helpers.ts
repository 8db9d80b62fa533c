import type { FastifyRequest } from 'fastify';
import type { QueryPairs } from '../interactions/conditional';
import type { ReturnPreference } from '../interactions/route';

export type { ReturnPreference };

/** The query string as decoded pairs, in order, repeats kept: a FHIR search depends on both. */
export function queryPairs(request: FastifyRequest): QueryPairs {
  const at = request.url.indexOf('?');
  return at < 0 ? [] : [...new URLSearchParams(request.url.slice(at + 1)).entries()];
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface Preferences {
  return: ReturnPreference;
  strict: boolean;
  lenient: boolean;
  respondAsync: boolean;
}

/** The `Prefer` header (RFC 7240): `return=` on writes, `handling=` on searches. */
export function preferences(request: FastifyRequest): Preferences {
  const result: Preferences = { return: 'representation', strict: false, lenient: false, respondAsync: false };
  const raw = header(request, 'prefer');
  if (!raw) return result;
  for (const part of raw.split(/[,;]/)) {
    const [key, value] = part.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (key === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) result.return = value;
    if (key === 'handling') {
      result.strict = value === 'strict';
      result.lenient = value === 'lenient';
    }
    if (key === 'respond-async') result.respondAsync = true;
  }
  return result;
}
