import type { Document } from 'mongodb';
import type { AccessFilter } from '../../context';
import { totalCapOf, type SearchQuery } from '../../search/query';
import type { SearchResult } from '../port';
import { versionRecord, type IndexFields, type VersionDocument } from './documents';
import { defaultIncludeLimits, findIncluded, type IncludeLimits, type IncludeSource } from './includes';
import type { ResourceReader } from './resource-reader';
import { scopeOf } from './search-filter';
import { compileSort, keysetFilter, positionOf } from './search-sort';
import { resolvedFilter } from './subqueries';

/**
 * A whole search over `resources`: sub-queries, the page (offset or keyset),
 * the capped total and the includes. Written against ResourceReader only,
 * so that the differential test runs this very code over mingo.
 *
 * Consistency: outside a transaction the page, the total and the includes
 * are separate reads and may see different moments (SQLite reads them in
 * one snapshot); inside a unit of work they share its snapshot.
 */

/** The index entries are for the database's eyes only; the page keeps `sort` (positions) and its references (includes). */
const unindexedKinds: Array<keyof IndexFields> = ['token', 'string', 'date', 'number', 'quantity', 'uri', 'composite'];
export const pageProjection: Document = {
  _id: 0,
  historyPending: 0,
  ...Object.fromEntries(unindexedKinds.map((kind) => [`idx.${kind}`, 0])),
};

export async function runSearch(
  reader: ResourceReader,
  access: AccessFilter | undefined,
  query: SearchQuery,
  limits: IncludeLimits = defaultIncludeLimits,
): Promise<SearchResult> {
  const filter = await resolvedFilter(reader, scopeOf(query.types, query.where, access), access, limits);
  const result: SearchResult = { records: [] };
  if (query.count > 0) {
    const page = await readPage(reader, filter, query);
    Object.assign(result, page.paging);
    result.records = page.documents.map((doc) => versionRecord(doc as VersionDocument));
    if ((query.include?.length ?? 0) + (query.revinclude?.length ?? 0) > 0) {
      const included = await findIncluded(reader, page.documents as IncludeSource[], query, access, pageProjection, limits);
      result.included = included.map((doc) => versionRecord(doc as VersionDocument));
    }
  }
  if (query.total !== 'none') {
    const cap = totalCapOf(query);
    // One more than the cap tells "more than the cap" from "exactly the cap" without counting everything;
    // without a cap (`accurate`) every match is counted, through the same filter as the page (access included).
    const counted = await reader.count(filter, cap === undefined ? undefined : cap + 1);
    if (cap !== undefined && counted > cap) result.totalExceeds = cap;
    else result.total = counted;
  }
  return result;
}

type Paging = Pick<SearchResult, 'first' | 'last' | 'hasMore' | 'hasPrevious'>;

/**
 * One page: `count` rows from `offset`, or right after / right before a
 * keyset position. One row more than the page is read to know whether the
 * page has a neighbour in the direction read; the other direction is one
 * existence check (keyset) or the offset itself.
 */
async function readPage(reader: ResourceReader, filter: Document, query: SearchQuery): Promise<{ documents: Document[]; paging: Paging }> {
  const severalTypes = new Set(query.types).size > 1;
  const backwards = query.before !== undefined && query.after === undefined;
  const position = query.after ?? query.before;
  const side = backwards ? 'before' : 'after';
  const bounded = position === undefined ? filter : { $and: [filter, keysetFilter(query.sort, severalTypes, position, side)] };
  const rows = await reader.find(bounded, {
    projection: pageProjection,
    sort: compileSort(query.sort, severalTypes, backwards),
    skip: position === undefined ? query.offset : 0,
    limit: query.count + 1,
  });
  const beyond = rows.length > query.count;
  const documents = rows.slice(0, query.count);
  if (backwards) documents.reverse();
  // Rows on the cursor's own side of it: the position itself and everything before it (or after, reading backwards).
  const behind = async () =>
    position !== undefined &&
    (await reader.count({ $and: [filter, { $nor: [keysetFilter(query.sort, severalTypes, position, side)] }] }, 1)) > 0;
  const paging: Paging = {
    hasMore: backwards ? await behind() : beyond,
    hasPrevious: backwards ? beyond : position !== undefined ? await behind() : query.offset > 0,
  };
  if (documents.length > 0) {
    paging.first = positionOf(documents[0]!, query.sort);
    paging.last = positionOf(documents[documents.length - 1]!, query.sort);
  }
  return { documents, paging };
}
