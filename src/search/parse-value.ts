/**
 * Parses one search value (one piece between commas, still escaped) of a
 * parameter of known type into the IR. Malformed values are the client's
 * error: FhirError 400 naming the parameter.
 */
import { badRequest, FhirError } from '../errors';
import { dateRange } from './date-range';
import { splitUnescaped, unescape } from './escape';
import { normalizeString } from './normalize';
import { numberRange } from './number-range';
import type { SearchParamDef } from './param-source';
import { splitPrefix } from './prefix';
import type {
  CompositeValue,
  DateValue,
  NumberValue,
  OfTypeValue,
  Prefix,
  QuantityValue,
  ReferenceValue,
  SearchValue,
  StringValue,
  TokenValue,
  UriValue,
} from './query';
import { normalizeReference } from './reference';

export interface ValueContext {
  /** The parameter as written in the query (for error locations). */
  name: string;
  baseUrl: string;
  /** Reference modifiers `:Type` are passed as the type. */
  targetType?: string;
  /** Finds a composite component's definition. */
  componentDef: (url: string) => SearchParamDef | undefined;
  /** "now" for `ap` on dates. */
  now: number;
}

const fail = (ctx: ValueContext, message: string): FhirError => badRequest(`${ctx.name}: ${message}`, [ctx.name]);

export function parseValue(def: SearchParamDef, raw: string, modifier: string | undefined, ctx: ValueContext): SearchValue {
  switch (def.type) {
    case 'token':
      if (modifier === 'text') return stringValue(raw);
      if (modifier === 'of-type') return ofTypeValue(raw, ctx);
      return tokenValue(raw, ctx);
    case 'string':
      return stringValue(raw);
    case 'uri':
      return { kind: 'uri', value: unescape(raw) } satisfies UriValue;
    case 'date':
      return dateValue(raw, ctx);
    case 'number':
      return numberValue(raw, ctx);
    case 'quantity':
      return quantityValue(raw, ctx);
    case 'reference':
      if (modifier === 'identifier') return tokenValue(raw, ctx);
      return referenceValue(def, raw, ctx);
    case 'composite':
      return compositeValue(def, raw, ctx);
    default:
      throw FhirError.of(400, 'not-supported', `${ctx.name}: parameters of type ${def.type} are not supported`, [ctx.name]);
  }
}

export function tokenValue(raw: string, ctx: ValueContext): TokenValue {
  const pieces = splitUnescaped(raw, '|');
  if (pieces.length > 2) throw fail(ctx, `a token is [system|]code, got "${raw}"`);
  if (pieces.length === 1) return { kind: 'token', code: unescape(pieces[0]!) };
  const [system, code] = pieces.map(unescape) as [string, string];
  if (system === '' && code === '') throw fail(ctx, 'a token needs a system or a code');
  const value: TokenValue = { kind: 'token', system: system === '' ? null : system };
  if (code !== '') value.code = code;
  return value;
}

function ofTypeValue(raw: string, ctx: ValueContext): OfTypeValue {
  const pieces = splitUnescaped(raw, '|').map(unescape);
  if (pieces.length !== 3 || pieces.some((p) => p === '')) throw fail(ctx, `:of-type takes type-system|type-code|value, got "${raw}"`);
  const [typeSystem, typeCode, value] = pieces as [string, string, string];
  return { kind: 'of-type', typeSystem, typeCode, value };
}

function stringValue(raw: string): StringValue {
  const value = unescape(raw);
  return { kind: 'string', value, norm: normalizeString(value) };
}

function prefixed(raw: string, ctx: ValueContext): { prefix: Prefix; rest: string } {
  const split = splitPrefix(raw);
  if (split.rest === raw && /^[a-z]{2}/i.test(raw)) throw fail(ctx, `unknown prefix "${raw.slice(0, 2)}"`);
  return split;
}

function dateValue(raw: string, ctx: ValueContext): DateValue {
  const { prefix, rest } = prefixed(unescape(raw), ctx);
  const range = dateRange(rest);
  if (!range) throw fail(ctx, `"${rest}" is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.sss]][Z|±hh:mm])`);
  if (prefix !== 'ap') return { kind: 'date', prefix, ...range };
  // ap: 10% of the gap between now and the value, on both sides (search.html#prefix).
  const widen = Math.round(0.1 * Math.abs(ctx.now - range.low));
  return { kind: 'date', prefix, low: range.low - widen, high: range.high + widen };
}

function numberValue(raw: string, ctx: ValueContext): NumberValue {
  const { prefix, rest } = prefixed(unescape(raw), ctx);
  const range = numberRange(rest);
  if (!range) throw fail(ctx, `"${rest}" is not a number`);
  return { kind: 'number', prefix, ...widenApproximate(prefix, range) };
}

function quantityValue(raw: string, ctx: ValueContext): QuantityValue {
  const pieces = splitUnescaped(raw, '|').map(unescape);
  if (pieces.length !== 1 && pieces.length !== 3) throw fail(ctx, `a quantity is [prefix]number[|system|code], got "${raw}"`);
  const { prefix, rest } = prefixed(pieces[0]!, ctx);
  const range = numberRange(rest);
  if (!range) throw fail(ctx, `"${rest}" is not a number`);
  const value: QuantityValue = { kind: 'quantity', prefix, ...widenApproximate(prefix, range) };
  if (pieces.length === 3) {
    if (pieces[1] !== '') value.system = pieces[1];
    if (pieces[2] !== '') value.code = pieces[2];
  }
  return value;
}

/** ap on a number: at least 10% of the value on either side (search.html#prefix). */
function widenApproximate(prefix: Prefix, range: { value: number; low: number; high: number }) {
  if (prefix !== 'ap') return range;
  const tenth = Math.abs(range.value) * 0.1;
  return { value: range.value, low: Math.min(range.low, range.value - tenth), high: Math.max(range.high, range.value + tenth) };
}

function referenceValue(def: SearchParamDef, raw: string, ctx: ValueContext): ReferenceValue {
  const text = unescape(raw);
  if (text === '') throw fail(ctx, 'empty reference');
  const isUrlOrPath = text.includes('/') || /^[a-z][a-z0-9+.-]*:/i.test(text);
  if (!isUrlOrPath) {
    // A bare id: the type comes from the modifier, or the parameter's targets.
    const targetTypes = ctx.targetType ? [ctx.targetType] : def.target ?? [];
    if (targetTypes.length === 1) return { kind: 'reference', ref: `${targetTypes[0]}/${text}` };
    return targetTypes.length === 0 ? { kind: 'reference', id: text } : { kind: 'reference', id: text, targetTypes };
  }
  // A `|version` only makes sense on a canonical URL.
  const n = normalizeReference(text, ctx.baseUrl, /^[a-z][a-z0-9+.-]*:/i.test(text));
  if (ctx.targetType && n.targetType !== null && n.targetType !== ctx.targetType) {
    throw fail(ctx, `the modifier :${ctx.targetType} contradicts the reference "${text}"`);
  }
  const value: ReferenceValue = { kind: 'reference', ref: n.ref };
  if (n.version !== undefined) value.version = n.version;
  return value;
}

function compositeValue(def: SearchParamDef, raw: string, ctx: ValueContext): CompositeValue {
  const components = def.component ?? [];
  const pieces = splitUnescaped(raw, '$');
  if (pieces.length !== components.length) {
    throw fail(ctx, `a value of ${def.code} has ${components.length} parts separated by $, got "${raw}"`);
  }
  return {
    kind: 'composite',
    components: components.map((c, i) => {
      const componentDef = ctx.componentDef(c.definition);
      if (!componentDef) throw FhirError.of(400, 'not-supported', `${ctx.name}: component ${c.definition} is unknown`, [ctx.name]);
      return parseValue(componentDef, pieces[i]!, undefined, ctx);
    }),
  };
}
