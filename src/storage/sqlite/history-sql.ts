import { badRequest } from '../../errors';
import type { HistoryQuery } from '../port';

export interface CompiledHistory {
  pageSql: string;
  countSql: string;
  /** Parameters of the WHERE clause (the page adds LIMIT and OFFSET). */
  params: unknown[];
}

/**
 * Instance, type or system history, newest first. `seq` breaks ties between
 * versions written in the same millisecond, so paging is stable.
 */
export function compileHistory(query: HistoryQuery): CompiledHistory {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const where = (clause: string, value: unknown) => {
    clauses.push(clause);
    params.push(value);
  };
  if (query.resourceType !== undefined) {
    where('h.type = ?', query.resourceType);
    if (query.id !== undefined) where('h.id = ?', query.id);
  }
  if (query.since !== undefined) where('h.last_updated >= ?', storedInstant(query.since, 'since'));
  if (query.at !== undefined) where('h.last_updated <= ?', storedInstant(query.at, 'at'));
  const filter = clauses.length > 0 ? ` WHERE ${clauses.join(' AND ')}` : '';
  return {
    pageSql:
      'SELECT h.type, h.id, h.version_id, h.last_updated, h.deleted, h.json FROM history h' +
      `${filter} ORDER BY h.last_updated DESC, h.seq DESC LIMIT ? OFFSET ?`,
    countSql: `SELECT count(*) AS total FROM history h${filter}`,
    params,
  };
}

/**
 * Stored instants are `toISOString()` text and compare as text; a bound written
 * otherwise ("...T10:00:00Z", "+02:00") must be brought to that form first.
 */
function storedInstant(instant: string, name: string): string {
  const time = Date.parse(instant);
  if (Number.isNaN(time)) throw badRequest(`History '${name}' is not an instant: ${instant}`);
  return new Date(time).toISOString();
}
