/**
 * `$export` (Bulk Data Access IG 2.0.0, export.html) at its three levels:
 * `[base]/$export`, `[base]/Patient/$export` and `[base]/Group/[id]/$export`,
 * by GET or POST with a Parameters body. The kick-off answers 202 with the
 * status URL in Content-Location; the job runs off the request path
 * (src/export/service.ts). Admission has already checked the scopes for the
 * level; the job's searches apply the caller's access filter themselves.
 */
import { FhirError } from '../errors';
import type { OperationDescriptor } from './descriptor';

const DEFINITIONS = {
  system: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
  patient: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
  group: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
};

const PARAMETERS: OperationDescriptor['parameters'] = [
  { name: '_outputFormat', type: 'string', min: 0, max: 1, documentation: 'application/fhir+ndjson (also application/ndjson, ndjson)' },
  { name: '_since', type: 'instant', min: 0, max: 1, documentation: 'Only resources changed after this instant; deletions are listed in `deleted`' },
  { name: '_type', type: 'string', min: 0, max: '*', documentation: 'Comma-separated resource types' },
  { name: '_typeFilter', type: 'string', min: 0, max: '*', documentation: 'Type?query; several for one type are ORed' },
  { name: '_elements', type: 'string', min: 0, max: '*', documentation: 'Elements to keep (mandatory ones always are)' },
  { name: 'patient', type: 'reference', min: 0, max: '*', documentation: 'POST at the Patient or Group level only' },
  { name: 'includeAssociatedData', type: 'code', min: 0, max: '*', documentation: 'LatestProvenanceResources' },
];

/** Set by the HTTP server; absent only in a server built without it. */
const unavailable = () => FhirError.of(501, 'not-supported', '$export is not available on this server');

export const exportOperation: OperationDescriptor = {
  code: 'export',
  definition: DEFINITIONS.system,
  resourceTypes: ['Patient', 'Group'],
  affectsState: false,
  get: ['system', 'type', 'instance'],
  post: ['system', 'type', 'instance'],
  // Searches at the system and Patient levels; reading the Group at the Group level (its members' data is then searched).
  permissions: { system: ['s'], type: ['s'], instance: ['r'] },
  parameters: PARAMETERS,
  documentation: `Bulk Data export (asynchronous). Patient level: ${DEFINITIONS.patient}; Group level: ${DEFINITIONS.group}`,
  handler: async (services, ctx, invocation) => {
    if (!services.exports) throw unavailable();
    const { resourceType, id } = invocation;
    if (resourceType === 'Group' && id === undefined) throw FhirError.of(404, 'not-supported', '$export is defined on Group instances, not on the Group type');
    if (resourceType === 'Patient' && id !== undefined) throw FhirError.of(404, 'not-supported', '$export is defined on the Patient type, not on Patient instances');
    const level = resourceType === undefined ? 'system' : resourceType === 'Patient' ? 'patient' : 'group';
    const statusUrl = await services.exports.kickOff(ctx, {
      level,
      ...(id !== undefined ? { groupId: id } : {}),
      parameters: invocation.parameters,
      query: invocation.query,
      isPost: invocation.resource !== undefined,
      respondAsync: invocation.prefer?.respondAsync === true,
      lenient: invocation.prefer?.lenient === true,
      networkAddress: invocation.networkAddress ?? 'unknown',
    });
    return {
      status: 202,
      headers: { 'content-location': statusUrl },
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: `Export started; poll ${statusUrl}` }] },
    };
  },
};
