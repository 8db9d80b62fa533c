import type { Patient } from '../fhir/types';
import { normalizeString } from '../search/normalize';

/** The parts of a Patient that matching compares, normalized once. */
export interface MatchFields {
  identifiers: Array<{ system?: string; value: string }>;
  families: string[];
  givens: string[];
  birthDate?: string;
  gender?: string;
  telecoms: string[];
  postalCodes: string[];
}

/** Names compare without case, accents, punctuation or spaces: "O'Brien-Núñez" → "obriennunez". */
export const normalizeName = (name: string): string => normalizeString(name).replace(/[^a-z]/g, '');

/** Phones by their digits (the last 10, so a country prefix does not matter), emails lower-cased. */
function normalizeTelecom(point: { system?: string; value?: string }): string | undefined {
  if (!point.value) return undefined;
  if (point.system === 'email') return point.value.trim().toLowerCase();
  const digits = point.value.replace(/\D/g, '');
  return digits.length >= 7 ? digits.slice(-10) : undefined;
}

const unique = (values: Array<string | undefined>): string[] => [...new Set(values.filter((v): v is string => !!v))];

export function matchFields(patient: Patient): MatchFields {
  const names = patient.name ?? [];
  return {
    identifiers: (patient.identifier ?? [])
      .filter((i): i is typeof i & { value: string } => typeof i.value === 'string' && i.value !== '')
      .map((i) => ({ system: i.system, value: i.value })),
    families: unique(names.map((n) => (n.family ? normalizeName(n.family) : undefined))),
    givens: unique(names.flatMap((n) => (n.given ?? []).map(normalizeName))),
    birthDate: patient.birthDate,
    gender: patient.gender === 'unknown' ? undefined : patient.gender,
    telecoms: unique((patient.telecom ?? []).map(normalizeTelecom)),
    postalCodes: unique((patient.address ?? []).map((a) => a.postalCode?.replace(/\s/g, '').toUpperCase())),
  };
}
