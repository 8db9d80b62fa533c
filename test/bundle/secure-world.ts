import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { AccessPartSource } from '../../src/security/access-filter';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import { BASE_URL, startSecureHarness, type SecureHarness, type SecureOptions } from '../security/auth-kit';

export const SID = 'urn:example:mrn';

/** Two patients (p treated by the GP, q by nobody), their Observations, an Encounter, a payer. */
export const WORLD: Array<Record<string, unknown>> = [
  { resourceType: 'Practitioner', id: 'gp' },
  { resourceType: 'Practitioner', id: 'other' },
  { resourceType: 'Organization', id: 'payer', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }] },
  { resourceType: 'Patient', id: 'p', identifier: [{ system: SID, value: 'p' }], generalPractitioner: [{ reference: 'Practitioner/gp' }] },
  { resourceType: 'Patient', id: 'q', identifier: [{ system: SID, value: 'q' }] },
  { resourceType: 'Observation', id: 'op', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p' } },
  { resourceType: 'Observation', id: 'oq', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/q' } },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p' }, participant: [{ individual: { reference: 'Practitioner/gp' } }] },
];

/** A secure harness whose server applies the consent layer, with WORLD stored; `consent` is that layer, for a guard built by the test. */
export async function startSecureWorld(
  t: { teardown(fn: () => unknown): void },
  options: Pick<SecureOptions, 'scheduling'> = {},
): Promise<{ h: SecureHarness; consent: AccessPartSource }> {
  const layer: { source?: AccessPartSource } = {};
  const h = await startSecureHarness({ ...options, accessSources: [(request) => layer.source?.(request)] });
  t.teardown(() => h.close());
  const consent = (layer.source = consentAccessSource(h.storage, BASE_URL));
  for (const resource of WORLD) await h.storage.create(systemContext(BASE_URL), resource as AnyResource);
  return { h, consent };
}
