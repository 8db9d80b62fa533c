/**
 * Which of a patient's Consents take part in a decision, and in which order
 * (docs/access-control.md, "The decision", step 3): active patient-privacy Consents in force now, newest first.
 */
import type { Consent, ConsentProvision } from 'fhir/r4';
import { dateRange } from '../../search/date-range';
import { codingsName } from './coded';
import { periodCovers, periodRange } from './provision-static';
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

/** The instants a clock reading is compared with when `now` is inside [low, high]: a range crosses into and out of force at low and just after high. */
export interface TimeRange {
  low: number;
  high: number;
}

function provisionPeriods(provision: ConsentProvision | undefined): TimeRange[] {
  if (!provision) return [];
  return [...(provision.period ? [periodRange(provision.period)] : []), ...(provision.provision ?? []).flatMap(provisionPeriods)];
}

/**
 * Every range of time a decision about this Consent compares the clock
 * with: its date (in force once written), its period, and its nested
 * provisions' periods (compile.ts folds them to constants).
 */
export function consentTimeRanges(consent: Consent): TimeRange[] {
  const written = instant(consent.dateTime);
  return [...(written === undefined ? [] : [{ low: written, high: Number.POSITIVE_INFINITY }]), ...provisionPeriods(consent.provision)];
}

/** The first instant after `now` at which being inside one of these ranges can change; Infinity when never. */
export function nextTimeBoundary(ranges: Iterable<TimeRange>, now: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (const { low, high } of ranges) {
    for (const boundary of [low, high + 1]) if (boundary > now && boundary < next) next = boundary;
  }
  return next;
}
