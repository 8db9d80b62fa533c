/**
 * The consent layer's one entry point: what the rest of the server may use
 * of it. The access filter part (consent-source.ts), the write rule for
 * Consents (consent-write.ts), break-the-glass, the "may this principal act
 * for these patients" check (acting-for.ts), and what `Consent/$evaluate`
 * explains with (explain.ts). Everything else in this folder is its inside.
 */
export { mayActFor, type Quantifier } from './acting-for';
export { defaultPurpose } from './actor';
export { consentAccessSource, honouredByBreakGlass } from './consent-source';
export { assertConsentWriteAllowed } from './consent-write';
export type { Basis, Decision } from './decision';
export type { ConsentAction } from './evaluation-env';
export { explainDecision } from './explain';
export { patientsOf } from './patients-of';
export { localReference } from './provision-static';
export { resolveActor } from './resolve-actor';
export { readCurrent } from './storage-queries';
export { ACT_CODE_SYSTEM, CONSENT_ACTION_SYSTEM, CONSENT_SCOPE_SYSTEM, SENSITIVE_LABELS } from './vocabulary';
