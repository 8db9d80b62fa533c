/**
 * Compiles search conditions (src/search/query.ts) to SQL over `resources`
 * and the index tables, including the access filter of the request.
 *
 * Each condition has two forms:
 * - a test on a row already chosen (`EXISTS` through a `(resource, param, ...)`
 *   index): cheap per row, never materializes anything;
 * - a set of matching `pk`s (`SELECT resource FROM idx_... WHERE param = ? AND ...`),
 *   used for the ONE condition chosen to drive the query, so that the cost of
 *   a search follows its most selective condition instead of the table size.
 * SQLite has no statistics on value frequencies, so the driver is chosen by a
 * fixed ranking of condition shapes (an equality before a prefix before a range).
 */
import type { AccessFilter } from '../../context';
import { badRequest, FhirError } from '../../errors';
import { isSelfContained, type ChainCondition, type CompositeValue, type Condition, type HasCondition, type ParamCondition, type SearchValue } from '../../search/query';
import { compositeSlots, slotColumn, tableOfParamType } from './index-tables';
import { and, inList, join, list, or, raw, sql, type Sql } from './sql-fragment';
import { rangeMatch, valueMatch, valuesMatch } from './value-sql';
import { SetHolder } from './value-sets';

const notSupported = (message: string) => FhirError.of(400, 'not-supported', message);

/** Parameters kept in columns of `resources` rather than in the index tables. */
const columnParams = new Set(['_id', '_lastUpdated']);

/** A condition that can drive: its set of pks and how well it narrows (lower is better). */
interface Driver {
  rank: number;
  set: (types: readonly string[]) => Sql;
  /**
   * The set holds only current resources of the types asked for: read from
   * index rows filtered by their `type` (only current resources have rows).
   * A search whose one condition drives such a set can count it alone.
   */
  exact?: boolean;
}

/**
 * Row tests compiled once per condition object, row alias and the row's
 * types (whose parameter ids the probes name). The access
 * filter's conditions are the same objects from request to request while
 * the data they were compiled from is unchanged (the consent layer caches
 * them, keyed by change stamps: src/security/consent/consent-source.ts); a
 * change gives new objects, so an entry can never be stale, and it goes
 * with its condition. Only conditions without chains or `_has` are kept:
 * their SQL depends on nothing but the condition and the row (no access
 * filter inside, no outer alias but the row).
 */
const compiledRowTests = new WeakMap<Condition, Map<string, Sql> | null>();

/** Aliases of a reused fragment: a prefix of their own, never one of a statement's other aliases (which it may sit beside, never inside). */
const REUSED = 'k';

export class ConditionCompiler {
  private aliases = 0;
  /** The resource types each row alias may have: whose parameter ids its probes name (search_params). */
  private readonly rowTypes = new Map<string, readonly string[]>();

  /** `sets`: this compiler builds a fragment to be reused; long value lists become Sets it holds (value-sets.ts). */
  constructor(
    private readonly access: AccessFilter | undefined,
    private readonly prefix = '',
    private readonly sets?: SetHolder,
  ) {}

  /**
   * The WHERE clause selecting the current resources of `types` (alias `row`)
   * that meet every condition and the access filter. With `drive`, the best
   * condition becomes the driving set; without (a correlated probe, where the
   * row is already fixed), every condition is a test.
   */
  rows(row: string, types: readonly string[], conditions: readonly Condition[], drive: boolean): Sql {
    const { driver, where } = this.plan(row, types, conditions, drive);
    return driver ? and([sql`${raw(`${row}.pk`)} IN (${driver})`, where]) : where;
  }

  /**
   * The same selection as `rows`, as a FROM clause and a WHERE clause: the
   * driving set comes first as a streamed DISTINCT sub-select, so that a
   * LIMIT (the capped count, a page in index order) stops reading it early
   * instead of materializing every match of a broad condition.
   */
  from(
    row: string,
    types: readonly string[],
    conditions: readonly Condition[],
    drive = true,
  ): { from: Sql; where: Sql; driver?: Sql; driverIsAll?: boolean } {
    const { driver, where, driverIsAll } = this.plan(row, types, conditions, drive);
    if (!driver) return { from: raw(`resources ${row}`), where };
    const d = this.alias('d');
    return { from: sql`(SELECT DISTINCT * FROM (${driver})) ${raw(d)} CROSS JOIN resources ${raw(row)} ON ${raw(`${row}.pk = ${d}.pk`)}`, where, driver, driverIsAll };
  }

  /** `driverIsAll`: the driving set is exactly the matches (an exact driver, no other condition, no access test). */
  private plan(row: string, types: readonly string[], conditions: readonly Condition[], drive: boolean): { driver?: Sql; where: Sql; driverIsAll?: boolean } {
    if (types.length === 0) throw badRequest('A search needs at least one resource type');
    this.rowTypes.set(row, types);
    const all = types.length === 1 ? [...conditions, ...this.accessFor(types[0]!)] : [...conditions];
    const driverIndex = drive ? this.pickDriver(all) : -1;
    const parts: Sql[] = [];
    // `+` takes the type indexes out of the planner's running when the index tables drive (see pickDriver).
    parts.push(typeIn(`${driverIndex >= 0 ? '+' : ''}${row}.type`, types));
    parts.push(raw(`${row}.deleted = 0`));
    all.forEach((condition, i) => {
      if (i !== driverIndex) parts.push(this.test(row, condition));
    });
    if (types.length > 1) {
      const access = this.accessByType(row, types);
      if (access) parts.push(access);
    }
    const where = and(parts);
    if (driverIndex < 0) return { where };
    const driver = this.driver(all[driverIndex]!)!;
    // Type and deleted are the only parts besides the driver: the exact set already answers both.
    return { driver: driver.set(types), where, driverIsAll: driver.exact === true && parts.length === 2 };
  }

  /** The access filter for rows whose type is one of `types` (system search, history); undefined when nothing is restricted. */
  accessByType(row: string, types: readonly string[]): Sql | undefined {
    if (!this.access) return undefined;
    this.rowTypes.set(row, types);
    const open: string[] = [];
    const restricted: Sql[] = [];
    for (const type of types) {
      const conditions = this.accessFor(type);
      if (conditions.length === 0) open.push(type);
      else restricted.push(sql`(${raw(`${row}.type`)} = ${type} AND ${and(conditions.map((c) => this.test(row, c)))})`);
    }
    if (restricted.length === 0) return undefined;
    return or([...(open.length > 0 ? [typeIn(`${row}.type`, open)] : []), ...restricted]);
  }

  /** The access conditions for one type ([] without an access filter). */
  accessFor(type: string): Condition[] {
    return this.access ? this.access.conditionsFor(type) : [];
  }

  private alias(prefix: string): string {
    return `${this.prefix}${prefix}${++this.aliases}`;
  }

  /**
   * The condition that drives, or -1 to let SQLite walk `resources` by type:
   * an `_id` (the (type, id) index is best), or a `_lastUpdated` when the
   * alternatives are only ranges (the (type, last_updated) index serves it).
   */
  private pickDriver(conditions: readonly Condition[]): number {
    if (conditions.some((c) => c.kind === 'param' && !c.rowTest && c.code === '_id' && c.modifier === undefined)) return -1;
    let best = -1;
    let bestRank = Infinity;
    conditions.forEach((condition, i) => {
      const rank = this.driver(condition)?.rank;
      if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
    });
    const lastUpdated = conditions.some((c) => c.kind === 'param' && !c.rowTest && c.code === '_lastUpdated' && c.modifier === undefined);
    return lastUpdated && bestRank >= rangeRank ? -1 : best;
  }

  /**
   * A boolean on the row `row`. A row test (`rowTest`) is wrapped in NOT NOT,
   * the same boolean: it also keeps SQLite's own planner from taking the
   * terms inside as index constraints, as the hint asks.
   */
  test(row: string, condition: Condition): Sql {
    if (!condition.rowTest) return this.plainTest(row, condition);
    return this.keptTest(row, condition) ?? sql`NOT ${sql`NOT ${this.plainTest(row, condition)}`}`;
  }

  /**
   * The row test compiled once for this condition object, row alias and row
   * types (compiledRowTests); undefined when this compiler is building such
   * a fragment itself, or the condition is not self-contained.
   */
  private keptTest(row: string, condition: Condition): Sql | undefined {
    if (this.sets) return undefined;
    let byRow = compiledRowTests.get(condition);
    if (byRow === undefined) compiledRowTests.set(condition, (byRow = isSelfContained(condition) ? new Map() : null));
    if (byRow === null) return undefined;
    // The row's types are part of the SQL: its probes name those types' parameter ids (paramIs).
    const types = this.typesOf(row);
    const key = types === undefined ? row : `${row}\u0000${types.join('\u0001')}`;
    let compiled = byRow.get(key);
    if (compiled === undefined) {
      const sets = new SetHolder();
      const reused = new ConditionCompiler(undefined, REUSED, sets);
      if (types !== undefined) reused.rowTypes.set(row, types);
      const fragment = reused.test(row, condition);
      // The fragment keeps its Sets alive as long as it is kept (value-sets.ts).
      compiled = Object.assign(fragment, { sets: sets.held });
      byRow.set(key, compiled);
    }
    return compiled;
  }

  private plainTest(row: string, condition: Condition): Sql {
    switch (condition.kind) {
      case 'param':
        return this.paramTest(row, condition);
      case 'chain':
        return this.chainTest(row, condition);
      case 'has':
        return this.hasTest(row, condition);
      case 'any':
        return or(condition.of.map((group) => and(group.map((c) => this.test(row, c)))));
      case 'not':
        return sql`NOT ${this.test(row, condition.condition)}`;
      case 'constant':
        return raw(condition.value ? '1' : '0');
      default:
        throw notSupported(`Search condition kind '${(condition as { kind: string }).kind}' is not supported`);
    }
  }

  /** The driving form of a condition, when it has one (a row test has none). */
  private driver(condition: Condition): Driver | undefined {
    if (condition.rowTest) return undefined;
    switch (condition.kind) {
      case 'param':
        return this.paramDriver(condition);
      case 'chain':
        return this.chainDriver(condition);
      case 'has':
        return this.hasDriver(condition);
      case 'any':
        return this.anyDriver(condition.of);
      default:
        return undefined;
    }
  }

  // ---- parameters

  private paramTest(row: string, condition: ParamCondition): Sql {
    checkValues(condition);
    const missing = missingValue(condition);
    if (condition.code === '_id') return this.idTest(row, condition, missing);
    if (condition.code === '_lastUpdated') return missing === undefined ? lastUpdatedTest(row, condition.values) : raw(missing ? '0' : '1');
    const e = this.alias('x');
    if (missing !== undefined) {
      const exists = sql`EXISTS (SELECT 1 FROM ${perResource(tableFor(condition), e)} WHERE ${raw(`${e}.resource = ${row}.pk`)} AND ${paramIs(`${e}.param`, this.typesOf(row), condition.code)})`;
      return missing ? sql`NOT ${exists}` : exists;
    }
    const { table, match } = this.entryMatch(e, condition, true);
    const exists = sql`EXISTS (SELECT 1 FROM ${perResource(table, e)} WHERE ${raw(`${e}.resource = ${row}.pk`)} AND ${paramIs(`${e}.param`, this.typesOf(row), condition.code)} AND ${match})`;
    return condition.modifier === 'not' ? sql`NOT ${exists}` : exists;
  }

  private idTest(row: string, condition: ParamCondition, missing: boolean | undefined): Sql {
    if (missing !== undefined) return raw(missing ? '0' : '1');
    const ids = condition.values.map((value) => {
      if (value.kind !== 'token' || value.code === undefined) throw badRequest('_id needs an id');
      return value.code;
    });
    const test = inList(raw(`${row}.id`), ids, false, this.sets);
    return condition.modifier === 'not' ? sql`NOT ${test}` : test;
  }

  private paramDriver(condition: ParamCondition): Driver | undefined {
    if (columnParams.has(condition.code) || condition.modifier === 'not') return undefined;
    checkValues(condition);
    const missing = missingValue(condition);
    if (missing === true) return undefined;
    if (missing === false) {
      return {
        rank: broadRank,
        exact: true,
        set: (types) => sql`SELECT resource AS pk FROM ${raw(tableFor(condition))} WHERE ${paramIs('param', types, condition.code)}`,
      };
    }
    const ranks = condition.values.map((value) => valueRank(value, condition.modifier));
    if (ranks.some((rank) => rank === undefined)) return undefined;
    return {
      rank: Math.max(...(ranks as number[])),
      exact: true,
      set: (types) => {
        const e = this.alias('x');
        const { table, match } = this.entryMatch(e, condition);
        return sql`SELECT ${raw(`${e}.resource AS pk`)} FROM ${raw(table)} ${raw(e)} WHERE ${paramIs(`${e}.param`, types, condition.code)} AND ${match}`;
      },
    };
  }

  /**
   * The table and row predicate (values ORed) of a parameter condition.
   * `probe`: the rows are one resource's (a per-resource test), not an index range to drive from.
   */
  private entryMatch(e: string, condition: ParamCondition, probe = false): { table: string; match: Sql } {
    if (condition.type === 'composite') {
      const composites = condition.values.map((value) => compositeValue(value, condition.code));
      return { table: tableFor(condition), match: or(composites.map((value) => compositeMatch(e, condition.code, value))) };
    }
    return { table: tableFor(condition), match: valuesMatch(e, condition.values, condition.modifier, probe, this.sets) };
  }

  /**
   * The resource types of a row alias (see plan); undefined (any type) for a
   * row the compiler did not select. Either is right for a probe of one
   * resource, whose rows all carry ids of its own type; the types only
   * spare the probe the ids of other types' parameters of the same code.
   */
  private typesOf(row: string): readonly string[] | undefined {
    return this.rowTypes.get(row);
  }

  // ---- chains: the reference's target (a current resource of a chained type) meets the target's condition

  private chainTest(row: string, condition: ChainCondition): Sql {
    return or(
      condition.targets.map((target) => {
        const [s, t] = [this.alias('s'), this.alias('t')];
        return sql`EXISTS (SELECT 1 FROM ${perResource('idx_reference', s)} JOIN resources ${raw(t)} ON ${raw(`${t}.type = ${s}.target_type AND ${t}.id = ${s}.target_id`)} WHERE ${raw(`${s}.resource = ${row}.pk`)} AND ${paramIs(`${s}.param`, this.typesOf(row), condition.code)} AND ${raw(`${s}.target_type`)} = ${target.resourceType} AND ${this.rows(t, [target.resourceType], [target.where], false)})`;
      }),
    );
  }

  private chainDriver(condition: ChainCondition): Driver | undefined {
    const rank = Math.max(...condition.targets.map((target) => this.bestRank([target.where, ...this.accessFor(target.resourceType)])));
    return {
      rank: rank + 0.5,
      exact: true,
      set: (types) =>
        join(
          condition.targets.map((target) => {
            const [s, t] = [this.alias('s'), this.alias('t')];
            return sql`SELECT ${raw(`${s}.resource AS pk`)} FROM resources ${raw(t)} JOIN idx_reference ${raw(s)} ON ${raw(`${s}.ref = ${t}.type || '/' || ${t}.id`)} AND ${paramIs(`${s}.param`, types, condition.code)} WHERE ${this.rows(t, [target.resourceType], [target.where], true)}`;
          }),
          ' UNION ALL ',
        ),
    };
  }

  // ---- _has: some current resource of a type points here through a parameter and meets a condition

  private hasTest(row: string, condition: HasCondition): Sql {
    const [s, h] = [this.alias('s'), this.alias('h')];
    return sql`EXISTS (SELECT 1 FROM idx_reference ${raw(s)} JOIN resources ${raw(h)} ON ${raw(`${h}.pk = ${s}.resource`)} WHERE ${raw(`${s}.ref = ${row}.type || '/' || ${row}.id`)} AND ${paramIs(`${s}.param`, [condition.resourceType], condition.referenceParam)} AND ${this.rows(h, [condition.resourceType], [condition.where], false)})`;
  }

  private hasDriver(condition: HasCondition): Driver {
    return {
      rank: this.bestRank([condition.where, ...this.accessFor(condition.resourceType)]) + 0.5,
      set: () => {
        const [s, h, t] = [this.alias('s'), this.alias('h'), this.alias('t')];
        return sql`SELECT ${raw(`${t}.pk`)} FROM resources ${raw(h)} JOIN idx_reference ${raw(s)} ON ${raw(`${s}.resource = ${h}.pk`)} AND ${paramIs(`${s}.param`, [condition.resourceType], condition.referenceParam)} JOIN resources ${raw(t)} ON ${raw(`${t}.type = ${s}.target_type AND ${t}.id = ${s}.target_id`)} WHERE ${this.rows(h, [condition.resourceType], [condition.where], true)}`;
      },
    };
  }

  // ---- any: the union of its groups, when every group can drive

  private anyDriver(groups: readonly Condition[][]): Driver | undefined {
    if (groups.length === 0) return undefined;
    const ranks = groups.map((group) => this.bestRank(group));
    if (ranks.some((rank) => rank === unranked)) return undefined;
    return {
      rank: Math.max(...ranks) + 0.5,
      set: (types) =>
        join(
          groups.map((group) => {
            const g = this.alias('g');
            return sql`SELECT ${raw(`${g}.pk`)} FROM resources ${raw(g)} WHERE ${this.rows(g, types, group, true)}`;
          }),
          ' UNION ',
        ),
    };
  }

  private bestRank(conditions: readonly Condition[]): number {
    return Math.min(unranked, ...conditions.map((c) => this.driver(c)?.rank ?? unranked));
  }
}

/** The index row's resource type is one of `types`. */
function typeIn(column: string, types: readonly string[]): Sql {
  return types.length === 1 ? sql`${raw(column)} = ${types[0]!}` : sql`${raw(column)} IN ${list(types)}`;
}

/** Ranks of driving shapes: equality, prefix, range, broad; `unranked` when only a scan of the type remains. */
const equalityRank = 1;
const prefixRank = 2;
const rangeRank = 3;
const broadRank = 4;
const unranked = 6;

function valueRank(value: SearchValue, modifier: string | undefined): number | undefined {
  switch (value.kind) {
    case 'token':
      return value.code !== undefined ? equalityRank : broadRank;
    case 'of-type':
      return equalityRank;
    case 'string':
      if (modifier === 'contains') return undefined;
      return modifier === 'exact' ? equalityRank : prefixRank;
    case 'uri':
      if (modifier === 'above') return undefined;
      return modifier === 'below' ? prefixRank : equalityRank;
    case 'reference':
      return value.ref !== undefined || value.targetTypes !== undefined ? equalityRank : broadRank;
    case 'date':
    case 'number':
    case 'quantity':
      return value.prefix === 'ne' ? undefined : rangeRank;
    case 'composite':
      return valueRank(value.components[0]!, undefined);
    case 'missing':
      return undefined;
  }
}

function checkValues(condition: ParamCondition): void {
  if (condition.values.length === 0) throw badRequest(`Search parameter '${condition.code}' has no value`);
}

function missingValue(condition: ParamCondition): boolean | undefined {
  const [first] = condition.values;
  return condition.modifier === 'missing' || first?.kind === 'missing' ? (first as { missing: boolean }).missing : undefined;
}

/**
 * A table read for one known resource. Without statistics SQLite prefers a
 * (param, value) range over the (resource, param) equality, and would scan a
 * whole parameter's range per row; the hint names the table's own key,
 * (resource, param, seq) (schema.ts), so every probe is a point lookup.
 * NOT INDEXED does not do it: on a WITHOUT ROWID table SQLite 3.53 still
 * picks a secondary index with it. The key of a WITHOUT ROWID table is the
 * index SQLite names `sqlite_autoindex_<table>_1`.
 */
export function perResource(table: string, alias: string): Sql {
  return raw(`${table} ${alias} INDEXED BY sqlite_autoindex_${table}_1`);
}

/**
 * The row's parameter (column `column`, an id of search_params) is `code`
 * of one of `types` (undefined: of any type). The ids are a sub-select, a
 * constant SQLite evaluates once per statement, so the index keys on
 * (param, ...) serve it as they would a bound integer; a code never written
 * has no id and matches nothing.
 */
export function paramIs(column: string, types: readonly string[] | undefined, code: string): Sql {
  if (types === undefined) return sql`${raw(column)} IN (SELECT id FROM search_params WHERE code = ${code})`;
  if (types.length === 1) return sql`${raw(column)} = (SELECT id FROM search_params WHERE type = ${types[0]!} AND code = ${code})`;
  return sql`${raw(column)} IN (SELECT id FROM search_params WHERE code = ${code} AND type IN ${list(types)})`;
}

/**
 * Every component of a composite value against its slot of one row of
 * `idx_composite` (index-tables.ts), each by its own type's rules (prefixes
 * included): the row is one entry, so all parts match the same element.
 */
function compositeMatch(e: string, code: string, value: CompositeValue): Sql {
  if (value.components.length > compositeSlots) throw notSupported(`'${code}' has more than ${compositeSlots} components`);
  return and(
    value.components.map((component, i) => {
      if (component.kind === 'missing' || component.kind === 'composite') throw badRequest(`A composite component cannot be a ${component.kind} value`);
      return valueMatch(`${e}.${slotColumn(i, '')}`, component, undefined);
    }),
  );
}

function tableFor(condition: ParamCondition): string {
  const table = tableOfParamType(condition.type);
  if (!table) throw notSupported(`Search parameter type '${condition.type}' ('${condition.code}') is not supported`);
  return table;
}

function compositeValue(value: SearchValue, code: string): CompositeValue {
  if (value.kind !== 'composite' || value.components.length === 0) throw badRequest(`'${code}' needs composite values`);
  return value;
}

/** `_lastUpdated` on the column: the version's instant is a one-millisecond range, compared as stored ISO text. */
function lastUpdatedTest(row: string, values: readonly SearchValue[]): Sql {
  const column = raw(`${row}.last_updated`);
  return or(
    values.map((value) => {
      if (value.kind !== 'date') throw badRequest('_lastUpdated needs a date');
      return rangeMatch(value.prefix, column, column, storedText(value.low), storedText(value.high));
    }),
  );
}

/** Years 0..9999: ISO text outside them does not sort as the instants do. */
const firstStorable = Date.parse('0000-01-01T00:00:00.000Z');
const lastStorable = Date.parse('9999-12-31T23:59:59.999Z');

function storedText(ms: number): string {
  const clamped = Math.min(Math.max(ms, firstStorable), lastStorable);
  return new Date(clamped).toISOString();
}
