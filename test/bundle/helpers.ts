import type { Harness } from '../http/harness';
import { fhirJson } from '../http/harness';

export type Entry = Record<string, unknown>;

export const bundleOf = (type: 'batch' | 'transaction', entry: Entry[]) => ({ resourceType: 'Bundle', type, entry });

/** POST [base] with a bundle; extra headers such as Prefer ride along. */
export function postBundle(h: Harness, bundle: unknown, headers: Record<string, string> = {}) {
  return h.request({ method: 'POST', url: '/fhir', headers: { ...fhirJson, ...headers }, payload: JSON.stringify(bundle) });
}

export const postEntry = (resource: Entry, fullUrl?: string, request: Entry = {}): Entry => ({
  ...(fullUrl ? { fullUrl } : {}),
  resource,
  request: { method: 'POST', url: resource.resourceType, ...request },
});

export const putEntry = (url: string, resource: Entry, request: Entry = {}): Entry => ({ resource, request: { method: 'PUT', url, ...request } });

export const requestEntry = (method: string, url: string, request: Entry = {}): Entry => ({ request: { method, url, ...request } });

export const patient = (extra: Entry = {}): Entry => ({ resourceType: 'Patient', gender: 'female', birthDate: '1970-01-01', ...extra });

/** The number of current resources of a type. */
export async function countOf(h: Harness, type: string, query = ''): Promise<number> {
  const response = await h.request({ method: 'GET', url: `/fhir/${type}?_summary=count${query ? `&${query}` : ''}` });
  return response.json().total;
}
