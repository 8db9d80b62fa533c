/**
 * Parsing a search whose `:in`, `:not-in`, `:above` or `:below` name value
 * sets or code systems stored on the server (ValueSet and CodeSystem
 * resources, by `url`). The parser is synchronous and pure, so the
 * definitions are loaded before it runs: parse with what is known, note
 * which URLs were missing, load those from storage (one search a round),
 * parse again. A value set that includes another stored value set needs one
 * more round; MAX_ROUNDS bounds the chain.
 *
 * The official definitions are asked first, so a search on them never
 * touches storage. Stored definitions are read with the caller's context:
 * what its access filter hides is unknown to its searches.
 */
import type { CodeSystem, ValueSet } from 'fhir/r4';
import type { RequestContext } from '../context';
import { parseSearch, type ParsedSearch, type ParseOptions } from '../search/parse';
import type { SearchQuery } from '../search/query';
import type { StorageOps } from '../storage/port';
import { conformanceTerminology } from './conformance-terminology';
import { layeredTerminology, resourceTerminology } from './resource-terminology';
import type { TerminologySource } from './value-set-expansion';

const MAX_ROUNDS = 8;

/** Stored definitions read per URL (a few versions of one value set at most are expected). */
const MAX_DEFINITIONS_PER_ROUND = 100;

export async function parseSearchWithStoredTerminology(
  storage: Pick<StorageOps, 'search'>,
  ctx: RequestContext,
  resourceTypes: readonly string[],
  pairs: ReadonlyArray<readonly [string, string]>,
  options: Omit<ParseOptions, 'terminology'>,
): Promise<ParsedSearch> {
  const fetched = new Set<string>();
  const stored: Array<ValueSet | CodeSystem> = [];
  for (let round = 1; ; round++) {
    const missing = new Set<string>();
    const terminology = layeredTerminology(conformanceTerminology, resourceTerminology(stored), notingMisses(fetched, missing));
    try {
      return parseSearch(resourceTypes, pairs, { ...options, terminology });
    } catch (error) {
      // Without a miss, the error is the answer; with one, it may be the missing definition's doing.
      if (missing.size === 0 || round === MAX_ROUNDS) throw error;
    }
    for (const url of missing) fetched.add(url);
    stored.push(...(await storedDefinitions(storage, ctx, [...missing])));
  }
}

/** Knows nothing; records the URLs asked for that have not been looked up in storage yet. */
function notingMisses(fetched: ReadonlySet<string>, missing: Set<string>): TerminologySource {
  const note = (url: string) => {
    if (!fetched.has(url)) missing.add(url);
    return undefined;
  };
  return { valueSet: note, codeSystem: note };
}

/** The current ValueSets and CodeSystems whose `url` is one of `urls`, most recently updated first. */
async function storedDefinitions(storage: Pick<StorageOps, 'search'>, ctx: RequestContext, urls: string[]): Promise<Array<ValueSet | CodeSystem>> {
  const query: SearchQuery = {
    types: ['CodeSystem', 'ValueSet'],
    where: [{ kind: 'param', code: 'url', type: 'uri', values: urls.map((value) => ({ kind: 'uri', value })) }],
    sort: [
      { code: '_lastUpdated', descending: true, type: 'date' },
      { code: '_id', descending: false, type: 'token' },
    ],
    count: MAX_DEFINITIONS_PER_ROUND,
    offset: 0,
    total: 'none',
  };
  const result = await storage.search(ctx, query);
  return result.records.flatMap((record) => (record.resource ? [record.resource as unknown as ValueSet | CodeSystem] : []));
}
