import type { Consent, Coverage, Patient } from 'fhir/r4';
import { memberMatch } from '../claims/member-match';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf } from './parameters';

/** The parameters of HRex 1.1.0's `$member-match` (OperationDefinition-member-match). */
const MEMBER_MATCH_PARAMETERS: readonly OperationParameter[] = [
  { name: 'MemberPatient', type: 'Resource', resourceType: 'Patient', min: 1, max: 1, documentation: 'The member as the new payer knows them' },
  { name: 'CoverageToMatch', type: 'Resource', resourceType: 'Coverage', min: 1, max: 1, documentation: "The old payer's coverage, as the member states it" },
  { name: 'CoverageToLink', type: 'Resource', resourceType: 'Coverage', min: 0, max: 1, documentation: "The new payer's coverage" },
  {
    name: 'Consent',
    type: 'Resource',
    resourceType: 'Consent',
    min: 1,
    max: 1,
    documentation: "The member's consent to share with the requesting payer (hrex-consent)",
  },
];

/**
 * `POST Patient/$member-match`: the requesting payer's Backend Services
 * client (or the operator) finds a member of this server's payer and, on a
 * unique match, stores the member's Consent (src/claims/member-match.ts).
 * A search by example that writes: `s` on Patient, and ordered as a write in bundles.
 */
export const memberMatchOperation: OperationDescriptor = {
  code: 'member-match',
  definition: 'http://hl7.org/fhir/us/davinci-hrex/OperationDefinition/member-match',
  documentation:
    "HRex 1.1.0 member match: MemberPatient, CoverageToMatch (the old payer's), CoverageToLink, Consent in; MemberIdentifier (type MB) and MemberId out, or 422 without saying why. On a match the Consent is stored and governs what the requesting payer reads. See docs/claims.md.",
  resourceTypes: ['Patient'],
  affectsState: true,
  get: [],
  post: ['type'],
  permissions: { type: ['s'] },
  parameters: MEMBER_MATCH_PARAMETERS,
  handler: async (services, ctx, { parameters }) => {
    const parts = checkParameters('$member-match', MEMBER_MATCH_PARAMETERS, parameters);
    const resource = <T>(name: string) => valueOf<T>(parts, name, 'resource');
    const coverageToLink = resource<Coverage>('CoverageToLink');
    const body = await memberMatch(services, ctx, {
      memberPatient: resource<Patient>('MemberPatient')!,
      coverageToMatch: resource<Coverage>('CoverageToMatch')!,
      consent: resource<Consent>('Consent')!,
      ...(coverageToLink ? { coverageToLink } : {}),
    });
    return { body };
  },
};
