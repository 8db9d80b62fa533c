import type { RequestContext } from '../context';
import { parseSearch } from '../search/parse';
import type { StorageOps, VersionRecord } from '../storage/port';
import type { MatchFields } from './patient-fields';

/** Per candidate search: enough for real duplicates, small enough that a common name cannot flood the scoring. */
const CANDIDATES_PER_SEARCH = 50;

/** A literal search value: the separators `,` `|` `$` and `\` escaped (search.html#escaping). */
const literal = (value: string): string => value.replace(/[\\,|$]/g, (c) => `\\${c}`);

/**
 * The searches that find candidates, each on indexed parameters (never a
 * scan of every Patient). Each tolerates a different slip, so a duplicate
 * with one typo or one missing field is still found by another:
 * - each identifier (system|value): the same identifier anywhere;
 * - family prefix (3 letters) and given prefix (2): survives a missing or
 *   wrong birth date and typos after the first letters;
 * - birth date with the family's first letter: typos anywhere in the family
 *   name after its first letter, missing given names;
 * - birth date with the given name's first letter: a family name mistyped at
 *   its start, or changed (marriage).
 * Telecom and postal code only score: their stored formats vary too much to search by.
 */
export function candidateSearches(wanted: MatchFields): Array<Array<[string, string]>> {
  const searches: Array<Array<[string, string]>> = [];
  for (const { system, value } of wanted.identifiers) {
    searches.push([['identifier', system === undefined ? literal(value) : `${literal(system)}|${literal(value)}`]]);
  }
  const family = wanted.families[0];
  const given = wanted.givens[0];
  if (family && given) searches.push([['family', family.slice(0, 3)], ['given', given.slice(0, 2)]]);
  if (wanted.birthDate && family) searches.push([['birthdate', wanted.birthDate], ['family', family.slice(0, 1)]]);
  if (wanted.birthDate && given) searches.push([['birthdate', wanted.birthDate], ['given', given.slice(0, 1)]]);
  return searches;
}

/** Current Patients found by any candidate search, each once. */
export async function findCandidates(ops: StorageOps, ctx: RequestContext, wanted: MatchFields): Promise<VersionRecord[]> {
  const found = new Map<string, VersionRecord>();
  for (const pairs of candidateSearches(wanted)) {
    const { query } = parseSearch(['Patient'], pairs, { strict: true, baseUrl: ctx.baseUrl });
    const result = await ops.search(ctx, { ...query, count: CANDIDATES_PER_SEARCH, offset: 0, total: 'none' });
    for (const record of result.records) found.set(record.id, record);
  }
  return [...found.values()];
}
