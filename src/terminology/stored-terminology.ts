/**
 * Parsing a search whose `:in`, `:not-in`, `:above` or `:below` name value
 * sets or code systems stored on the server (ValueSet and CodeSystem
 * resources, by `url`). The parser is synchronous and pure, so the
 * definitions are loaded before it runs and handed to it (its `terminology`
 * option): the values of the terminology modifiers are expanded with what
 * is known, the URLs that were missing are loaded from storage (one search
 * a round), and so on until nothing is missing; then the query is parsed
 * once. A value set that includes another stored value set needs one more
 * round; MAX_ROUNDS bounds the chain.
 *
 * The official definitions are asked first, so a search on them never
 * touches storage. Stored definitions are read with the caller's context:
 * what its access filter hides is unknown to its searches.
 */
import type { CodeSystem, ValueSet } from 'fhir/r4';
import type { RequestContext } from '../context';
import { askTerminology, terminologyModifierOf } from '../search/modifiers-terminology';
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
  const terminology = await namedTerminology(storage, ctx, pairs);
  return parseSearch(resourceTypes, pairs, { ...options, terminology });
}

/**
 * The terminology a query's `:in`, `:not-in`, `:above` and `:below` values
 * name: the official definitions, and those stored on the server, loaded
 * in rounds (one storage search per level of nesting: a value set that
 * includes another needs the next round), each round asking only the
 * expansion again, never the whole parse.
 */
async function namedTerminology(storage: Pick<StorageOps, 'search'>, ctx: RequestContext, pairs: ReadonlyArray<readonly [string, string]>): Promise<TerminologySource> {
  const named = pairs.flatMap(([key, value]) => {
    const modifier = terminologyModifierOf(key);
    return modifier ? [{ modifier, value }] : [];
  });
  const fetched = new Set<string>();
  const stored: Array<ValueSet | CodeSystem> = [];
  for (let round = 1; named.length > 0 && round <= MAX_ROUNDS; round++) {
    const missing = new Set<string>();
    const asking = layeredTerminology(conformanceTerminology, resourceTerminology(stored), notingMisses(fetched, missing));
    for (const { modifier, value } of named) askTerminology(modifier, value, asking);
    if (missing.size === 0) break;
    for (const url of missing) fetched.add(url);
    stored.push(...(await storedDefinitions(storage, ctx, [...missing])));
  }
  return stored.length === 0 ? conformanceTerminology : layeredTerminology(conformanceTerminology, resourceTerminology(stored));
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
