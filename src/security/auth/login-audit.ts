import type { AuditEvent } from 'fhir/r4';
import type { AnyResource } from '../../fhir/types';
import { timeOrderedId } from '../audit/install-audit';

/**
 * The AuditEvent of a failed sign-in (DICOM "User Authentication" / "Login",
 * as the FHIR AuditEvent examples use it), outcome 4: the username tried
 * (as an identifier of this server's accounts) and the client address,
 * never the password.
 */
export function failedSignInEvent(origin: string, username: string, address: string, clientId: string, now = new Date()): AnyResource {
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id: timeOrderedId(now.getTime()),
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114', display: 'User Authentication' },
    subtype: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110122', display: 'Login' }],
    action: 'E',
    recorded: now.toISOString(),
    outcome: '4',
    outcomeDesc: 'sign-in refused',
    agent: [
      {
        who: { identifier: { system: `${origin}/auth/users`, value: username.slice(0, 64) } },
        altId: clientId,
        requestor: true,
        network: { address, type: '2' },
      },
    ],
    source: {
      site: origin,
      observer: { display: 'Concord authorization server' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '6', display: 'Security Server' }],
    },
  };
  return event as unknown as AnyResource;
}
