/**
 * Which of a patient's Consents take part in a decision, and in which order
 * (issue 4, step 3): active patient-privacy Consents in force now, newest first.
 */
import type { Consent } from 'fhir/r4';
import { dateRange } from '../../search/date-range';
import { codingsName } from './coded';
import { periodCovers } from './provision-static';
import { CONSENT_SCOPE_SYSTEM } from './vocabulary';

const instant = (text: string | undefined): number | undefined => (text === undefined ? undefined : dateRange(text)?.low);

/** A Consent is dated by `dateTime`, or by `meta.lastUpdated` when it has none. */
function consentDate(consent: Consent): number {
  return instant(consent.dateTime) ?? instant(consent.meta?.lastUpdated) ?? Number.NEGATIVE_INFINITY;
}

export function isPrivacyConsentInForce(consent: Consent, now: number): boolean {
  if (consent.status !== 'active') return false;
  if (!codingsName(consent.scope?.coding, CONSENT_SCOPE_SYSTEM, 'patient-privacy')) return false;
  const written = instant(consent.dateTime);
  if (written !== undefined && written > now) return false;
  return periodCovers(consent.provision?.period, now);
}

/** Newest first: by date, then by `meta.lastUpdated`, then by id so that the order is total. */
export function consentsInForce(consents: readonly Consent[], now: number): Consent[] {
  const lastUpdated = (c: Consent) => instant(c.meta?.lastUpdated) ?? Number.NEGATIVE_INFINITY;
  return consents
    .filter((c) => isPrivacyConsentInForce(c, now))
    .sort((a, b) => consentDate(b) - consentDate(a) || lastUpdated(b) - lastUpdated(a) || String(a.id).localeCompare(String(b.id)));
}
