import { FhirError } from '../../errors';
import type { ClassifiedRequest } from '../scopes/classify';

const CHANGES = new Set(['update', 'patch', 'delete']);

/**
 * The access log is evidence: no caller, the operator included, may change
 * or remove an AuditEvent through the API (405). The server writes them
 * through the storage port, which this does not affect.
 */
export function assertAuditEventWritable(request: ClassifiedRequest): void {
  if (request.resourceType !== 'AuditEvent' || !CHANGES.has(request.interaction)) return;
  const allow = request.id === undefined ? 'GET, POST' : 'GET';
  throw new FhirError(405, [{ severity: 'error', code: 'not-supported', diagnostics: 'AuditEvents cannot be updated or deleted' }], { Allow: allow });
}
