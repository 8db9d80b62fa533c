/**
 * Text normalization shared by the indexer and the parser, so that a string
 * search compares like with like: FHIR string search is case- and
 * accent-insensitive (http://hl7.org/fhir/R4/search.html#string).
 */

const COMBINING_MARKS = /[\u0300-\u036f]/g;
const WHITESPACE_RUN = /\s+/g;

/** Lower-case, accents folded (NFD then combining marks stripped), whitespace collapsed and trimmed. */
export function normalizeString(value: string): string {
  return value.normalize('NFD').replace(COMBINING_MARKS, '').toLowerCase().replace(WHITESPACE_RUN, ' ').trim();
}
