import type { Document } from 'mongodb';
import type { HistoryQuery } from '../port';
import { storedInstant } from '../versioning';

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
 * the one ISO form lastUpdated is stored in (storedInstant, shared with SQLite).
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

