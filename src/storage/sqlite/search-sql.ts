import { FhirError, badRequest } from '../../errors';
import type { Condition, SearchQuery, SearchValue, SortKey, TokenValue } from '../../search/query';

/** One search compiled to SQL: the page and the total share the WHERE clause and its parameters. */
export interface CompiledSearch {
  pageSql: string;
  countSql: string;
  /** Parameters of the WHERE clause (the page adds LIMIT and OFFSET). */
  params: unknown[];
}

/** Columns every reader of `resources` selects, in VersionRow's shape. */
export const resourceColumns = 'r.type, r.id, r.version_id, r.last_updated, r.deleted, r.json';

const notSupported = (msg: string) => FhirError.of(400, 'not-supported', msg);

/**
 * Compiles the search IR to one statement over `resources` and the index tables.
 * Anything the compiler does not know is refused with 400 rather than ignored,
 * because silently dropping a condition would return too much.
 */
export function compileSearch(query: SearchQuery): CompiledSearch {
  if (query.types.length === 0) throw badRequest('A search needs at least one resource type');
  const params: unknown[] = [...query.types];
  const clauses = [`${typeColumn(query.where)} IN (${placeholders(query.types.length)})`, 'r.deleted = 0'];
  for (const condition of query.where) clauses.push(compileCondition(condition, params));
  const where = clauses.join(' AND ');
  return {
    pageSql: `SELECT ${resourceColumns} FROM resources r WHERE ${where} ORDER BY ${compileSort(query.sort)} LIMIT ? OFFSET ?`,
    countSql: `SELECT count(*) AS total FROM resources r WHERE ${where}`,
    params,
  };
}

/**
 * Without statistics the planner prefers walking every resource of the type
 * through the (type, ...) indexes and probing the index subquery for each,
 * which is linear in the table: 20k patients made an identifier search 100x
 * slower. The unary `+` takes the type index out of the running so that the
 * index tables drive (cost bounded by the matches). With an `_id` condition
 * the (type, id) unique index is the best driver and stays usable.
 */
function typeColumn(where: Condition[]): string {
  const drivenByIndexTables = where.length > 0 && !where.some((condition) => condition.kind === 'param' && condition.code === '_id');
  return drivenByIndexTables ? '+r.type' : 'r.type';
}

function compileCondition(condition: Condition, params: unknown[]): string {
  if (condition.kind !== 'param') throw notSupported(`Search condition kind '${(condition as { kind: string }).kind}' is not supported`);
  if (condition.modifier !== undefined) throw notSupported(`Modifier ':${condition.modifier}' on '${condition.code}' is not supported`);
  if (condition.values.length === 0) throw badRequest(`Search parameter '${condition.code}' has no value`);
  if (condition.code === '_id') return compileId(condition.values, params);
  if (condition.type !== 'token') throw notSupported(`Search parameter type '${condition.type}' ('${condition.code}') is not supported`);
  params.push(condition.code);
  const alternatives = condition.values.map((value) => compileTokenValue(tokenValue(value, condition.code), params));
  return `r.pk IN (SELECT resource FROM idx_token WHERE param = ? AND (${alternatives.join(' OR ')}))`;
}

function compileId(values: SearchValue[], params: unknown[]): string {
  for (const value of values) {
    const code = tokenValue(value, '_id').code;
    if (code === undefined) throw badRequest('_id needs an id');
    params.push(code);
  }
  return `r.id IN (${placeholders(values.length)})`;
}

function compileTokenValue(value: TokenValue, params: unknown[]): string {
  const parts: string[] = [];
  if (value.system === null) parts.push('system IS NULL');
  else if (value.system !== undefined) {
    parts.push('system = ?');
    params.push(value.system);
  }
  if (value.code !== undefined) {
    parts.push('code = ?');
    params.push(value.code);
  }
  if (value.code === undefined && (value.system === undefined || value.system === null)) {
    throw badRequest('A token search value needs a system or a code');
  }
  return `(${parts.join(' AND ')})`;
}

function tokenValue(value: SearchValue, code: string): TokenValue {
  if (value.kind !== 'token') throw notSupported(`Value kind '${(value as { kind: string }).kind}' for '${code}' is not supported`);
  return value;
}

// A Map, not an object literal: a sort code such as 'constructor' must not find a prototype member.
const sortColumns = new Map([
  ['_id', 'r.id'],
  ['_lastUpdated', 'r.last_updated'],
]);

/** The IR ends with an id tie-breaker; type is added because a system search mixes types sharing ids. */
function compileSort(sort: SortKey[]): string {
  const terms = sort.map((key) => {
    const column = sortColumns.get(key.code);
    if (column === undefined) throw notSupported(`Sorting by '${key.code}' is not supported`);
    return `${column} ${key.descending ? 'DESC' : 'ASC'}`;
  });
  if (!sort.some((key) => key.code === '_id')) terms.push('r.id ASC');
  terms.push('r.type ASC');
  return terms.join(', ');
}

export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}
