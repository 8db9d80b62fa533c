import { STATUS_CODES } from 'node:http';
import { FhirError, operationOutcome, type Issue } from '../errors';
import { etag, resourceUrl, versionEntry, versionUrl } from '../fhir/bundle';
import { storedBody } from '../fhir/stored-body';
import type { BundleEntry } from '../fhir/types';
import type { VersionRecord } from '../fhir/version-record';
import type { EntryResult } from './bundle-entry';
import type { EntryRequest } from './bundle-request';

/** `Prefer: return=` of the bundle request, applied to every entry that wrote. */
export type EntryReturn = 'minimal' | 'representation' | 'OperationOutcome';

const statusLine = (status: number): string => `${status} ${STATUS_CODES[status] ?? ''}`.trim();

/** One response entry (http.html#transaction-response): status, location, etag, lastModified, and the body Prefer asks for. */
export function responseEntry(baseUrl: string, result: EntryResult, preference: EntryReturn): BundleEntry {
  const { record } = result;
  const response: NonNullable<BundleEntry['response']> = { status: statusLine(result.status) };
  if (record) {
    response.etag = etag(record);
    response.lastModified = record.lastUpdated;
    if (result.wrote) response.location = versionUrl(baseUrl, record);
  }
  const answer = result.body;
  if (answer) return { resource: answer, response };
  if (!record || !hasBody(record) || result.status === 304 || result.bodiless) return { response };
  if (result.wrote && preference === 'minimal') return { response };
  if (result.wrote && preference === 'OperationOutcome') {
    const verb = result.status === 201 ? 'Created' : 'Updated';
    response.outcome = operationOutcome([
      { severity: 'information', code: 'informational', diagnostics: `${verb} ${record.resourceType}/${record.id} version ${record.versionId}` },
    ]);
    return { response };
  }
  // The stored bytes when nobody parsed them (fhir/stored-body.ts), as a REST read sends them.
  return versionEntry({ fullUrl: resourceUrl(baseUrl, record), resource: undefined, response }, record);
}

/** Whether a version has a body, without parsing stored bytes to find out. */
const hasBody = (record: VersionRecord): boolean => storedBody(record) !== undefined || record.resource !== undefined;

/** A batch entry that failed: its status and the OperationOutcome saying why. */
export function failedEntry(error: FhirError): BundleEntry {
  return { response: { status: statusLine(error.status), outcome: operationOutcome(error.issues) } };
}

/**
 * Points an issue of an entry at that entry: `Patient.birthDate` (the
 * validator's element path) becomes `Bundle.entry[3].resource.birthDate`, a
 * bare element (`id`) `Bundle.entry[3].resource.id`, and an issue without a
 * location names the entry itself.
 */
function issueAtEntry(issue: Issue, request: EntryRequest): Issue {
  const entry = `Bundle.entry[${request.index}]`;
  const located = (expression: string): string => {
    if (expression.startsWith('Bundle.entry[')) return expression;
    const type = request.segments[0];
    if (type && (expression === type || expression.startsWith(`${type}.`))) return `${entry}.resource${expression.slice(type.length)}`;
    return `${entry}.resource.${expression}`;
  };
  return {
    ...issue,
    diagnostics: `${entry} (${request.method} ${request.segments[0] ?? ''}): ${issue.diagnostics}`,
    expression: issue.expression?.length ? issue.expression.map(located) : [entry],
  };
}

/** The entry's error, its issues naming the entry; headers (an ETag) are kept. Anything but a FhirError is a bug and passes through. */
export function errorAtEntry(error: unknown, request: EntryRequest): unknown {
  if (!(error instanceof FhirError)) return error;
  return new FhirError(error.status, error.issues.map((issue) => issueAtEntry(issue, request)), error.headers);
}

/** Runs `work` for one entry, so that whatever fails there names the entry. */
export async function atEntry<T>(request: EntryRequest, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw errorAtEntry(error, request);
  }
}
