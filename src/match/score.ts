import { jaroWinkler } from './jaro-winkler';
import type { MatchFields } from './patient-fields';

export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

/**
 * How much each field's agreement adds to the score (they sum to 1). Birth
 * date and family name identify best; gender alone says little. Documented
 * in the README's $match section: change both together.
 */
export const MATCH_WEIGHTS = { family: 0.25, given: 0.2, birthDate: 0.25, gender: 0.1, telecom: 0.1, postalCode: 0.1 } as const;

/** Fields that do not change over a life: when both sides have them and they disagree, half their weight is taken off. */
const DISAGREEMENT_PENALTY = 0.5;

/** Grade thresholds on the score; `certain` needs a shared identifier. */
export const PROBABLE_AT = 0.7;
export const POSSIBLE_AT = 0.45;

/** Name similarity below this is chance, not a typo: it counts as no agreement. */
const NAME_AGREEMENT = 0.8;

export interface MatchScore {
  /** 0 to 1, rounded to 3 decimals. */
  score: number;
  grade: MatchGrade;
}

/**
 * Jaro-Winkler takes time in the product of the lengths, and a stored name
 * can be of any length: only this many leading letters are compared, far
 * more than any real name has, so that one comparison stays bounded.
 */
export const MAX_COMPARED_NAME_LENGTH = 64;

function nameSimilarity(a: string, b: string): number {
  const similarity = jaroWinkler(a.slice(0, MAX_COMPARED_NAME_LENGTH), b.slice(0, MAX_COMPARED_NAME_LENGTH));
  return similarity >= NAME_AGREEMENT ? similarity : 0;
}

/** The best similarity of each name of the shorter list to a name of the other, averaged: order does not matter (swapped given names). */
function namesSimilarity(left: string[], right: string[]): number | undefined {
  if (left.length === 0 || right.length === 0) return undefined;
  const [fewer, more] = left.length <= right.length ? [left, right] : [right, left];
  const best = fewer.map((name) => Math.max(...more.map((other) => nameSimilarity(name, other))));
  return best.reduce((sum, value) => sum + value, 0) / best.length;
}

/** Equal: 1; one of year, month or day differing, or day and month swapped (a typing slip): 0.5; else 0. */
function birthDateSimilarity(a?: string, b?: string): number | undefined {
  if (!a || !b) return undefined;
  if (a === b) return 1;
  const [ya, ma, da] = a.split('-');
  const [yb, mb, db] = b.split('-');
  if (ma === undefined || mb === undefined || da === undefined || db === undefined) return ya === yb ? 0.5 : 0;
  const differing = [ya !== yb, ma !== mb, da !== db].filter(Boolean).length;
  const swapped = ya === yb && ma === db && da === mb;
  return differing === 1 || swapped ? 0.5 : 0;
}

const sameAny = (a: string[], b: string[]): number | undefined => (a.length === 0 || b.length === 0 ? undefined : a.some((v) => b.includes(v)) ? 1 : 0);

const sameValue = (a?: string, b?: string): number | undefined => (a === undefined || b === undefined ? undefined : a === b ? 1 : 0);

/** Same system and value: the same person by the issuer's word. */
export function shareIdentifier(a: MatchFields, b: MatchFields): boolean {
  return a.identifiers.some((x) => x.system !== undefined && b.identifiers.some((y) => y.system === x.system && y.value === x.value));
}

export function gradeOf(score: number, certain: boolean): MatchGrade {
  if (certain) return 'certain';
  if (score >= PROBABLE_AT) return 'probable';
  if (score >= POSSIBLE_AT) return 'possible';
  return 'certainly-not';
}

/**
 * Scores a candidate against the patient being looked for: the weighted sum
 * of each field's similarity (a field missing on either side adds nothing),
 * less the disagreement penalty for birth date and gender. A shared
 * identifier makes it certain, score 1.
 */
export function scoreCandidate(wanted: MatchFields, candidate: MatchFields): MatchScore {
  if (shareIdentifier(wanted, candidate)) return { score: 1, grade: 'certain' };
  const similarities: Record<keyof typeof MATCH_WEIGHTS, number | undefined> = {
    family: namesSimilarity(wanted.families, candidate.families),
    given: namesSimilarity(wanted.givens, candidate.givens),
    birthDate: birthDateSimilarity(wanted.birthDate, candidate.birthDate),
    gender: sameValue(wanted.gender, candidate.gender),
    telecom: sameAny(wanted.telecoms, candidate.telecoms),
    postalCode: sameAny(wanted.postalCodes, candidate.postalCodes),
  };
  let score = 0;
  for (const [field, weight] of Object.entries(MATCH_WEIGHTS) as Array<[keyof typeof MATCH_WEIGHTS, number]>) {
    const similarity = similarities[field];
    if (similarity === undefined) continue;
    score += weight * similarity;
    if (similarity === 0 && (field === 'birthDate' || field === 'gender')) score -= weight * DISAGREEMENT_PENALTY;
  }
  const rounded = Math.round(Math.min(1, Math.max(0, score)) * 1000) / 1000;
  return { score: rounded, grade: gradeOf(rounded, false) };
}
