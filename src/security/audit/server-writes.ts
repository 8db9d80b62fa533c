/**
 * AuditEvents of writes the server makes on its own, outside any request
 * (the sweeper cancelling a lapsed hold): audited like the same write
 * through the API, one event per patient whose compartment holds the
 * resource, naming that patient (role 1) and the resource. The agent is the
 * server itself: Concord's base URL and the name of the job.
 */
import type { AuditEvent } from 'fhir/r4';
import type { VersionRecord } from '../../fhir/version-record';
import type { Interaction } from '../scopes/interaction';
import { auditEvents } from './audit-event';
import { patientsOfFactory } from './patients-of';

export type ServerWriteAudit = (job: string, interaction: Interaction, records: readonly VersionRecord[]) => AuditEvent[];

export function serverWriteAudit(baseUrl: string): ServerWriteAudit {
  const patientsOf = patientsOfFactory(baseUrl);
  return (job, interaction, records) =>
    auditEvents({
      principal: { kind: 'operator', token: { issuer: baseUrl, clientId: job, scopes: [] } },
      interaction,
      recorded: new Date(),
      outcome: '0',
      networkAddress: '127.0.0.1',
      baseUrl,
      resources: records.map((record) => ({ reference: `${record.resourceType}/${record.id}`, patients: record.resource ? patientsOf(record.resource) : [] })),
    });
}
