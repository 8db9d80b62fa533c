/** Code systems and codes the consent layer reads (FHIR R4 Consent, v3 vocabularies). */

export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const CONSENT_ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const RESOURCE_TYPES_SYSTEM = 'http://hl7.org/fhir/resource-types';
export const ORGANIZATION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/organization-type';

/** The purposes with a rule of their own (v3-ActReason). */
export const TREAT = 'TREAT';
export const EMERGENCY_TREAT = 'ETREAT';
export const PAYMENT = 'HPAYMT';

/** Consent.provision.action codes that cover reading and searching; writing is `correct`. */
export const READ_ACTIONS: ReadonlySet<string> = new Set(['access', 'use', 'disclose']);
export const WRITE_ACTIONS: ReadonlySet<string> = new Set(['correct']);

export interface Label {
  system: string;
  code: string;
}

/**
 * Labels that make a resource sensitive (docs/access-control.md, "The decision", step 5): restricted and very
 * restricted confidentiality, and the v3-ActCode information sensitivity
 * policies (ActInformationSensitivityPolicy). A privacy officer would rather
 * list too many than too few: an unlisted one is disclosed by a blanket permit.
 */
export const SENSITIVE_LABELS: readonly Label[] = [
  ...['R', 'V'].map((code) => ({ system: CONFIDENTIALITY_SYSTEM, code })),
  ...[
    'BH', 'COGN', 'DVD', 'EMOTDIS', 'ETH', 'ETHUD', 'GDIS', 'HIV', 'MH', 'MST', 'OPIOIDUD',
    'PSY', 'PSYTHPN', 'SCA', 'SDV', 'SEX', 'SICKLE', 'SPI', 'STD', 'SUD', 'TBOO',
  ].map((code) => ({ system: ACT_CODE_SYSTEM, code })),
];

export const sameLabel = (a: Label, b: Label): boolean => a.system === b.system && a.code === b.code;
