import type { Document } from 'mongodb';
import { badRequest } from '../../errors';
import type { HistoryQuery } from '../port';

/** A history query compiled to one find over `history`; pure, for the differential test. */
export interface CompiledHistory {
  filter: Document;
  sort: Record<string, 1 | -1>;
  skip: number;
  /** 0 means "no records, only the total": do not run the find (MongoDB reads limit 0 as "no limit"). */
  limit: number;
}

/**
 * Instance, type or system history, newest first. `seq` (write order) breaks
 * ties between versions written in the same millisecond so paging is stable;
 * since/at compare as strings, which is time order once they are brought to
 * the one ISO form lastUpdated is stored in.
 */
export function compileHistory(query: HistoryQuery): CompiledHistory {
  const filter: Document = {};
  if (query.resourceType !== undefined) {
    filter.type = query.resourceType;
    if (query.id !== undefined) filter.id = query.id;
  }
  const lastUpdated: Document = {};
  if (query.since !== undefined) lastUpdated.$gte = storedInstant(query.since, 'since');
  if (query.at !== undefined) lastUpdated.$lte = storedInstant(query.at, 'at');
  if (Object.keys(lastUpdated).length > 0) filter.lastUpdated = lastUpdated;
  return { filter, sort: { lastUpdated: -1, seq: -1 }, skip: query.offset, limit: query.count };
}

/**
 * `...T10:00:02+01:00` and `...T09:00:02.000Z` are the same instant, but only
 * the second compares right as a string. Parsed as the SQLite adapter parses
 * it (history-sql.ts), so that both accept and refuse the same bounds.
 */
function storedInstant(instant: string, name: string): string {
  const time = Date.parse(instant);
  if (Number.isNaN(time)) throw badRequest(`History '${name}' is not an instant: ${instant}`);
  return new Date(time).toISOString();
}
