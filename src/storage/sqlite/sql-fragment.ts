import type { SetHolder } from './value-sets';

/**
 * SQL built from fragments that carry their own bound parameters, so a
 * compiler can assemble a statement in any order (select list, WHERE, ORDER
 * BY) and the parameters always follow the text. Values are never spliced
 * into the text: everything from a request is bound.
 */
export interface Sql {
  readonly text: string;
  readonly params: readonly unknown[];
}

export type SqlValue = string | number | bigint | null | Buffer;

/** `sql\`x.param = ${code}\``: a value becomes `?`, a nested fragment is inlined. */
export function sql(strings: TemplateStringsArray, ...values: Array<Sql | SqlValue>): Sql {
  let text = strings[0]!;
  const params: unknown[] = [];
  values.forEach((value, i) => {
    if (isSql(value)) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[i + 1]!;
  });
  return { text, params };
}

/** Trusted text (aliases, column names, keywords) with no parameters. */
export function raw(text: string): Sql {
  return { text, params: [] };
}

export function join(fragments: readonly Sql[], separator: string): Sql {
  return { text: fragments.map((f) => f.text).join(separator), params: fragments.flatMap((f) => f.params) };
}

/**
 * `a OP b OP c ...` as nested parenthesized groups of at most 64. SQLite
 * parses a flat chain into a tree as deep as it is long and refuses depth
 * over 1000 ("Expression tree is too large"): a search with thousands of
 * ORed values (a long comma list, an access filter naming many patients)
 * must still compile. Grouped, the depth grows with the logarithm of the length.
 */
function balanced(fragments: readonly Sql[], operator: 'AND' | 'OR'): Sql {
  if (fragments.length === 1) return fragments[0]!;
  const CHUNK = 64;
  if (fragments.length <= CHUNK) return sql`(${join(fragments, ` ${operator} `)})`;
  const size = Math.ceil(fragments.length / CHUNK);
  const groups: Sql[] = [];
  for (let from = 0; from < fragments.length; from += size) groups.push(balanced(fragments.slice(from, from + size), operator));
  return balanced(groups, operator);
}

/** AND of the fragments; TRUE when there are none. */
export function and(fragments: readonly Sql[]): Sql {
  return fragments.length === 0 ? raw('1') : balanced(fragments, 'AND');
}

/** OR of the fragments; FALSE when there are none. */
export function or(fragments: readonly Sql[]): Sql {
  return fragments.length === 0 ? raw('0') : balanced(fragments, 'OR');
}

/** From this many values on, `inList` binds the list as one JSON array. */
const LONG_LIST = 16;

/**
 * `column IN (...)`. A long list (an access filter naming hundreds of
 * patients, a value set expansion) is bound as one JSON array and read with
 * json_each: the statement's text then has the same size whatever the number
 * of values, so building, hashing and caching it stays cheap, and one
 * parameter is bound instead of hundreds. On an indexed column SQLite looks
 * each listed value up in the index (right for a driving condition); see
 * `probe` for the per-resource test, and `sets` for a fragment that is reused.
 */
export function inList(column: Sql, values: ReadonlyArray<string | number>, probe = false, sets?: SetHolder): Sql {
  if (values.length < LONG_LIST) return sql`${column} IN ${list(values)}`;
  // A fragment compiled once and reused (a cached access condition, condition-sql.ts): the list becomes a Set built once (value-sets.ts).
  if (sets && values.every((value) => typeof value === 'string')) return sql`concord_in_set(${sets.hold(values as readonly string[])}, ${column})`;
  // `probe`: the row is already narrowed to a few index entries (one resource's values of one parameter);
  // testing those against the list beats looking up every listed value in the index, which is what
  // SQLite does with an indexed column, and `+` takes the column out of the index.
  return sql`${probe ? raw('+') : raw('')}${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}

/** `(?, ?, ?)` for a list of values. */
export function list(values: readonly SqlValue[]): Sql {
  return { text: `(${values.map(() => '?').join(', ')})`, params: [...values] };
}

function isSql(value: unknown): value is Sql {
  return typeof value === 'object' && value !== null && 'text' in value && 'params' in value && !Buffer.isBuffer(value);
}
