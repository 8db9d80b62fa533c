/**
 * Parses the query of a FHIR search (http://hl7.org/fhir/R4/search.html) into
 * the IR of query.ts. Pure: definitions come from the parameter source.
 *
 * Errors: a malformed value, an unknown or misplaced modifier, a bad control
 * parameter → FhirError 400 naming the parameter. An unknown or unsupported
 * parameter → a warning (ignored), or 400 under `strict` (Prefer: handling=strict).
 */
import { badRequest, FhirError, type Issue } from '../errors';
import { assertAuditLogSearch, assertNotJoinedWithAuditLog } from './audit-log-search';
import { splitUnescaped } from './escape';
import { defaultParamSource, type SearchParamDef, type SearchParamSource } from './param-source';
import { parseValue, type ValueContext } from './parse-value';
import { conformanceTerminology } from '../terminology/conformance-terminology';
import type { TerminologySource } from '../terminology/value-set-expansion';
import { TERMINOLOGY_MODIFIERS, terminologyCondition } from './modifiers-terminology';
import type { Condition, IncludeSpec, ParamCondition, SearchQuery, SearchValue, SortKey, SummaryMode, TotalMode } from './query';

export interface ParseOptions {
  strict: boolean;
  baseUrl: string;
  params?: SearchParamSource;
  /** "now" for `ap` on dates; defaults to the clock. */
  now?: Date;
  /**
   * Value sets and code systems for the token modifiers `:in`, `:not-in`,
   * `:above` and `:below`; defaults to the official R4 ones. Those stored on
   * the server are loaded before parsing (src/terminology/stored-terminology.ts).
   */
  terminology?: TerminologySource;
}

export interface ParsedSearch {
  query: SearchQuery;
  warnings: Issue[];
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

/** Modifiers each parameter type accepts (besides `missing`, which all accept). `:Type` on references is handled apart. */
export const MODIFIERS: Readonly<Record<string, readonly string[]>> = {
  token: ['text', 'not', 'of-type', ...TERMINOLOGY_MODIFIERS],
  string: ['exact', 'contains'],
  uri: ['above', 'below'],
  reference: ['identifier'],
  date: [],
  number: [],
  quantity: [],
  composite: [],
};

/** Spec modifiers the server does not implement: a clear 400 rather than "unknown". */
const UNSUPPORTED_MODIFIERS = new Set(['in', 'not-in', 'above', 'below', 'type', 'iterate']);

/** Handled by the HTTP layer, not by search. */
const TRANSPORT_PARAMS = new Set(['_format', '_pretty']);

/** Defined by the spec, not implemented here. */
const UNSUPPORTED_PARAMS = new Set(['_contained', '_containedType', '_list', '_text', '_content', '_query', '_filter', '_score']);

/**
 * Longest value one alternative of a search parameter may have (the pieces
 * between unescaped commas, search.html#escaping), in characters. Far above
 * any real code, name, URL or reference, it bounds what one criterion makes
 * the query compile and the database compare; it is per alternative, so that
 * long OR-lists of short values (`subject=Patient/a,Patient/b,...`) stay
 * allowed. Documented in the README.
 */
export const MAX_SEARCH_ALTERNATIVE_LENGTH = 2048;

export function parseSearch(
  resourceTypes: readonly string[],
  params: ReadonlyArray<readonly [string, string]>,
  options: ParseOptions,
): ParsedSearch {
  for (const [key, value] of params) checkAlternativeLengths(key, value);
  return new SearchParser([...resourceTypes], options).parse(params);
}

function checkAlternativeLengths(key: string, value: string): void {
  // Cheap first: only a value longer than the limit can hold a too-long alternative.
  if (value.length <= MAX_SEARCH_ALTERNATIVE_LENGTH) return;
  const index = splitUnescaped(value, ',').findIndex((alternative) => alternative.length > MAX_SEARCH_ALTERNATIVE_LENGTH);
  if (index < 0) return;
  throw badRequest(`${key}: each value of a search parameter may have at most ${MAX_SEARCH_ALTERNATIVE_LENGTH} characters (value ${index + 1} has more)`, [key]);
}

class SearchParser {
  private readonly source: SearchParamSource;
  private readonly warnings: Issue[] = [];
  private readonly now: number;

  constructor(
    private types: string[],
    private readonly options: ParseOptions,
  ) {
    this.source = options.params ?? defaultParamSource;
    this.now = (options.now ?? new Date()).getTime();
  }

  parse(pairs: ReadonlyArray<readonly [string, string]>): ParsedSearch {
    // `_type` first: it decides which types the other parameters are read against.
    for (const [key, value] of pairs) if (key === '_type') this.applyType(value);
    assertAuditLogSearch(this.types, pairs);
    const query: SearchQuery = { types: this.types, where: [], sort: [], count: DEFAULT_COUNT, offset: 0, total: 'estimate' };
    let sortText: string | undefined;
    let totalGiven = false;
    for (const [key, value] of pairs) {
      const [name, modifier] = splitKey(key);
      switch (name) {
        case '_type':
          break;
        case '_sort':
          sortText = value;
          break;
        case '_count':
          query.count = this.count(value);
          break;
        case '_offset':
          query.offset = wholeNumber('_offset', value);
          break;
        case '_total':
          query.total = oneOf<TotalMode>('_total', value, ['none', 'estimate', 'accurate']);
          totalGiven = true;
          break;
        case '_summary':
          query.summary = oneOf<SummaryMode>('_summary', value, ['true', 'text', 'data', 'count', 'false']);
          break;
        case '_elements':
          query.elements = value.split(',').map((e) => e.trim()).filter((e) => e !== '');
          break;
        case '_include':
        case '_revinclude': {
          const spec = this.include(key, name, modifier, value);
          if (spec) (name === '_include' ? (query.include ??= []) : (query.revinclude ??= [])).push(spec);
          break;
        }
        default:
          if (TRANSPORT_PARAMS.has(name)) break;
          if (UNSUPPORTED_PARAMS.has(name)) {
            this.unknown(key, `The search parameter ${name} is not supported`);
            break;
          }
          this.condition(key, value, query.where);
      }
    }
    // A search without `_total` is counted up to DEFAULT_TOTAL_CAP: every page is counted again, and a
    // broad search should not pay for a full count on each. `_summary=count` asks for the count itself,
    // so it is exact unless `_total=none` or `_total=estimate` says otherwise.
    if (query.summary === 'count') {
      query.count = 0;
      if (!totalGiven) query.total = 'accurate';
    }
    query.sort = this.sort(sortText);
    return { query, warnings: this.warnings };
  }

  private applyType(value: string): void {
    const requested = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
    const known = new Set(this.source.resourceTypes());
    const bad = requested.filter((t) => !known.has(t));
    if (bad.length > 0) throw badRequest(`_type: unknown resource type ${bad.join(', ')}`, ['_type']);
    const allowed = new Set(this.types);
    const kept = requested.filter((t) => allowed.has(t));
    if (kept.length === 0) throw badRequest(`_type: ${value} is outside the types searched (${this.types.join(', ')})`, ['_type']);
    // The access log is kept apart and searched alone (audit-log-search.ts).
    if (kept.length > 1) kept.forEach((type) => assertNotJoinedWithAuditLog('_type', type));
    this.types = kept;
  }

  private count(value: string): number {
    const n = wholeNumber('_count', value);
    if (n <= MAX_COUNT) return n;
    this.warnings.push({ severity: 'information', code: 'informational', diagnostics: `_count limited to ${MAX_COUNT}`, expression: ['_count'] });
    return MAX_COUNT;
  }

  /** Warning, or 400 under strict handling. */
  private unknown(name: string, message: string): void {
    if (this.options.strict) throw FhirError.of(400, 'not-supported', message, [name]);
    this.warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: `${message}; ignored`, expression: [name] });
  }

  /** The definition of `code` shared by all `types` (system search only accepts common parameters). */
  private definition(types: string[], code: string): SearchParamDef | undefined {
    let found: SearchParamDef | undefined;
    for (const type of types) {
      const def = this.source.searchParameter(type, code);
      if (!def || (found && found.type !== def.type)) return undefined;
      found ??= def;
    }
    return found;
  }

  private condition(key: string, value: string, where: Condition[]): void {
    const condition = this.keyCondition(this.types, key, key, value);
    if (condition) where.push(condition);
  }

  /**
   * The condition for `key` (possibly chained or `_has`) on `types`. `name` is
   * the whole parameter as written, for messages. undefined: ignored (warned).
   */
  private keyCondition(types: string[], key: string, name: string, value: string): Condition | undefined {
    if (key.startsWith('_has:')) return this.hasCondition(types, key, name, value);
    const dot = key.indexOf('.');
    if (dot >= 0) return this.chainCondition(types, key.slice(0, dot), key.slice(dot + 1), name, value);
    return this.paramCondition(types, key, name, value);
  }

  private paramCondition(types: string[], key: string, name: string, value: string): Condition | undefined {
    const [code, modifier] = splitKey(key);
    const def = this.definition(types, code);
    if (!def) {
      this.unknown(name, `Unknown search parameter "${code}" for ${types.length === 1 ? types[0] : 'the types searched'}`);
      return undefined;
    }
    if (def.type === 'special') {
      this.unknown(name, `The search parameter ${code} (type special) is not supported`);
      return undefined;
    }
    const targetType = this.checkModifier(def, modifier, name);
    if (modifier === 'missing') {
      if (value !== 'true' && value !== 'false') throw badRequest(`${name}: :missing takes true or false`, [name]);
      return { kind: 'param', code, type: def.type, modifier, values: [{ kind: 'missing', missing: value === 'true' }] };
    }
    const ctx: ValueContext = {
      name,
      baseUrl: this.options.baseUrl,
      componentDef: (url) => this.source.searchParameters(types[0]!).find((p) => p.url === url),
      now: this.now,
      ...(targetType ? { targetType } : {}),
    };
    // An empty value is ignored (search.html#escaping: "a parameter with no value is ignored").
    const pieces = splitUnescaped(value, ',').filter((p) => p !== '');
    if (pieces.length === 0) return undefined;
    if (def.type === 'token' && modifier !== undefined && TERMINOLOGY_MODIFIERS.has(modifier)) {
      return terminologyCondition(code, modifier, pieces, ctx, this.options.terminology ?? conformanceTerminology);
    }
    const values: SearchValue[] = pieces.map((p) => parseValue(def, p, modifier, ctx));
    const condition: ParamCondition = { kind: 'param', code, type: def.type, values };
    if (modifier !== undefined && !targetType) condition.modifier = modifier;
    return condition;
  }

  /** Throws on a modifier the type does not take; returns the type of a reference `:Type` modifier. */
  private checkModifier(def: SearchParamDef, modifier: string | undefined, name: string): string | undefined {
    if (modifier === undefined || modifier === 'missing') return undefined;
    if (def.type === 'reference' && /^[A-Z]/.test(modifier)) {
      if (def.target && !def.target.includes(modifier)) {
        throw badRequest(`${name}: ${modifier} is not a target of ${def.code} (${def.target.join(', ')})`, [name]);
      }
      return modifier;
    }
    if (MODIFIERS[def.type]?.includes(modifier)) return undefined;
    if (UNSUPPORTED_MODIFIERS.has(modifier)) {
      throw FhirError.of(400, 'not-supported', `${name}: the modifier :${modifier} is not supported on ${def.type} parameters`, [name]);
    }
    throw badRequest(`${name}: unknown modifier :${modifier} for a ${def.type} parameter`, [name]);
  }

  /** `subject:Patient.name` → follow `subject` to Patient, then `name` there. */
  private chainCondition(types: string[], head: string, rest: string, name: string, value: string): Condition | undefined {
    const [code, typeModifier] = splitKey(head);
    const def = this.definition(types, code);
    if (!def || def.type !== 'reference') {
      this.unknown(name, `Cannot chain through "${code}": not a reference parameter of ${types.join(', ')}`);
      return undefined;
    }
    if (typeModifier !== undefined) this.checkModifier(def, typeModifier, name);
    const candidates = typeModifier ? [typeModifier] : def.target ?? [];
    const nextCode = splitKey(rest.split('.')[0]!)[0];
    // Without a type modifier, every target type that defines the next parameter is searched.
    const targets = candidates.filter((t) => nextCode.startsWith('_has') || this.source.searchParameter(t, nextCode) !== undefined);
    if (targets.length === 0) {
      this.unknown(name, `"${nextCode}" is not a parameter of any target of ${code} (${candidates.join(', ')})`);
      return undefined;
    }
    const chained = targets.flatMap((t) => {
      const where = this.keyCondition([t], rest, name, value);
      return where ? [{ resourceType: t, where }] : [];
    });
    return chained.length === 0 ? undefined : { kind: 'chain', code, targets: chained };
  }

  /** `_has:Observation:patient:code=1234`, nestable: `_has:A:p:_has:B:q:code=x`. */
  private hasCondition(types: string[], key: string, name: string, value: string): Condition | undefined {
    const m = /^_has:([A-Za-z]+):([A-Za-z0-9_-]+):(.+)$/.exec(key);
    if (!m) throw badRequest(`${name}: _has takes the form _has:Type:reference-parameter:parameter`, [name]);
    const [, resourceType, referenceParam, rest] = m as unknown as [string, string, string, string];
    if (!this.source.resourceTypes().includes(resourceType)) throw badRequest(`${name}: unknown resource type ${resourceType}`, [name]);
    assertNotJoinedWithAuditLog(name, resourceType);
    const refDef = this.source.searchParameter(resourceType, referenceParam);
    if (!refDef || refDef.type !== 'reference') {
      throw badRequest(`${name}: ${referenceParam} is not a reference parameter of ${resourceType}`, [name]);
    }
    if (refDef.target && !types.some((t) => refDef.target!.includes(t))) {
      throw badRequest(`${name}: ${resourceType}.${referenceParam} cannot point at ${types.join(', ')}`, [name]);
    }
    const where = this.keyCondition([resourceType], rest, name, value);
    return where ? { kind: 'has', resourceType, referenceParam, where } : undefined;
  }

  /** `Type:param[:targetType]`, or `*` / `Type:*`. */
  private include(key: string, name: string, modifier: string | undefined, value: string): IncludeSpec | undefined {
    if (modifier !== undefined && modifier !== 'iterate' && modifier !== 'recurse') {
      throw badRequest(`${key}: unknown modifier :${modifier} (only :iterate)`, [key]);
    }
    const iterate = modifier !== undefined;
    if (value === '*') return { sourceType: '*', param: '*', iterate };
    const [sourceType, param, targetType, extra] = value.split(':');
    if (!sourceType || !param || extra !== undefined) throw badRequest(`${name}: expected Type:parameter[:targetType], got "${value}"`, [name]);
    if (!this.source.resourceTypes().includes(sourceType)) throw badRequest(`${name}: unknown resource type ${sourceType}`, [name]);
    assertNotJoinedWithAuditLog(name, sourceType);
    if (targetType !== undefined && !this.source.resourceTypes().includes(targetType)) {
      throw badRequest(`${name}: unknown resource type ${targetType}`, [name]);
    }
    const spec: IncludeSpec = { sourceType, param, iterate, ...(targetType ? { targetType } : {}) };
    if (param === '*') return spec;
    const def = this.source.searchParameter(sourceType, param);
    if (!def || def.type !== 'reference') {
      this.unknown(name, `${sourceType}:${param} is not a reference parameter`);
      return undefined;
    }
    if (targetType && def.target && !def.target.includes(targetType)) {
      throw badRequest(`${name}: ${targetType} is not a target of ${sourceType}:${param}`, [name]);
    }
    return spec;
  }

  private sort(text: string | undefined): SortKey[] {
    const keys: SortKey[] = [];
    for (const raw of (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const descending = raw.startsWith('-');
      const code = descending ? raw.slice(1) : raw;
      const def = this.definition(this.types, code);
      if (!def) {
        this.unknown('_sort', `Cannot sort by unknown parameter "${code}"`);
        continue;
      }
      if (def.type === 'composite' || def.type === 'special') throw badRequest(`_sort: cannot sort by ${def.type} parameter ${code}`, ['_sort']);
      keys.push({ code, descending, type: def.type });
    }
    if (!keys.some((k) => k.code === '_id')) keys.push({ code: '_id', descending: false, type: 'token' });
    return keys;
  }
}

/** `name:modifier` → [name, modifier]. */
function splitKey(key: string): [string, string | undefined] {
  const colon = key.indexOf(':');
  return colon < 0 ? [key, undefined] : [key.slice(0, colon), key.slice(colon + 1)];
}

function wholeNumber(name: string, value: string): number {
  if (!/^\d{1,9}$/.test(value.trim())) throw badRequest(`${name}: expected a whole number, got "${value}"`, [name]);
  return Number(value);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw badRequest(`${name}: expected one of ${allowed.join(', ')}, got "${value}"`, [name]);
  return value as T;
}
