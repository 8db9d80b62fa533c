import type { AccessFilter } from '../../context';
import { resourceTypes } from '../../fhir/definitions';
import type { HistoryQuery } from '../port';
import { storedInstant } from '../versioning';
import { ConditionCompiler } from './condition-sql';
import { and, raw, sql, type Sql } from './sql-fragment';

export interface CompiledHistory {
  /** The page; the caller appends nothing: LIMIT and OFFSET are bound here. */
  page: Sql;
  count: Sql;
}

const versionColumns = raw('h.type, h.id, h.version_id, h.last_updated, h.deleted, h.json, h.patients');

/**
 * Instance, type or system history, newest first. `seq` breaks ties between
 * versions written in the same millisecond, so paging is stable.
 *
 * With an access filter, a resource's versions are listed when its CURRENT
 * row meets the filter: the index holds the current version's values only.
 */
export function compileHistory(query: HistoryQuery, access: AccessFilter | undefined): CompiledHistory {
  const clauses: Sql[] = [];
  if (query.resourceType !== undefined) {
    clauses.push(sql`h.type = ${query.resourceType}`);
    if (query.id !== undefined) clauses.push(sql`h.id = ${query.id}`);
  }
  if (query.since !== undefined) clauses.push(sql`h.last_updated >= ${storedInstant(query.since, 'since')}`);
  if (query.at !== undefined) clauses.push(sql`h.last_updated <= ${storedInstant(query.at, 'at')}`);
  const visible = visibleVersions(query.resourceType, access);
  if (visible) clauses.push(visible);
  const where = and(clauses);
  return {
    page: sql`SELECT ${versionColumns} FROM history h WHERE ${where} ORDER BY h.last_updated DESC, h.seq DESC LIMIT ${query.count} OFFSET ${query.offset}`,
    count: sql`SELECT count(*) AS total FROM history h WHERE ${where}`,
  };
}

/** The versions of one resource (`h`) are visible when its current row is; undefined when nothing is hidden. */
export function visibleVersions(resourceType: string | undefined, access: AccessFilter | undefined): Sql | undefined {
  const test = new ConditionCompiler(access).accessByType('r', resourceType === undefined ? resourceTypes() : [resourceType]);
  return test && sql`EXISTS (SELECT 1 FROM resources r WHERE r.type = h.type AND r.id = h.id AND ${test})`;
}
