/**
 * From one FHIR value (as found by a SearchParameter expression) to the index
 * entries of one parameter type. Pure functions of the value's FHIR type and
 * data; the indexer decides which values to feed in.
 */
import { dateRange, MAX_INSTANT, MIN_INSTANT } from './date-range';
import type {
  DateEntry,
  NumberEntry,
  QuantityEntry,
  ReferenceEntry,
  StringEntry,
  TokenEntry,
  UriEntry,
} from './index-entry';
import { impliedSystem } from './implied-system';
import { normalizeString } from './normalize';
import { jsonNumberRange, OPEN_HIGH, OPEN_LOW } from './number-range';
import { normalizeReference } from './reference';

/** A value found in a resource: its FHIR type (`HumanName`, `dateTime`...) when known, and its JSON. */
export interface FoundValue {
  type: string | undefined;
  data: unknown;
  /** The element's path without indexes (`Patient.gender`), when the value is an element. */
  path?: string;
}

/** What reference extraction needs besides the value. */
export interface ReferenceContext {
  baseUrl: string;
  /** Type of each contained resource by id, to type `#id` references. */
  containedTypes: ReadonlyMap<string, string>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);
const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
const isPrimitive = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const normalizedText = (v: unknown): { text: string } | Record<string, never> => {
  const s = str(v);
  return s === undefined ? {} : { text: normalizeString(s) };
};

export function tokenEntries(param: string, { type, data, path }: FoundValue): TokenEntry[] {
  if (isPrimitive(data)) {
    const code = String(data);
    return [{ param, kind: 'token', system: type === 'code' && path ? impliedSystem(path, code) : null, code }];
  }
  if (!isObject(data)) return [];
  switch (type) {
    case 'CodeableConcept': {
      const entries = objects(data.coding).flatMap((c) => tokenEntries(param, { type: 'Coding', data: c }));
      const text = str(data.text);
      if (text !== undefined) entries.push({ param, kind: 'token', system: null, code: null, text: normalizeString(text) });
      return entries;
    }
    case 'Identifier': {
      const base: TokenEntry = {
        param, kind: 'token', system: str(data.system) ?? null, code: str(data.value) ?? null,
        ...normalizedText(isObject(data.type) ? data.type.text : undefined),
      };
      const typeCodings = isObject(data.type) ? objects(data.type.coding).filter((c) => str(c.code) !== undefined) : [];
      if (typeCodings.length === 0) return [base];
      return typeCodings.map((c) => ({ ...base, typeSystem: str(c.system) ?? null, typeCode: str(c.code)! }));
    }
    case 'ContactPoint':
      // The ContactPoint's system (phone, email...) plays the token system.
      return str(data.value) === undefined ? [] : [{ param, kind: 'token', system: str(data.system) ?? null, code: str(data.value)! }];
    default:
      // Coding, and Coding-shaped types (e.g. a Coding profile).
      if (str(data.code) === undefined && str(data.system) === undefined) return [];
      return [{ param, kind: 'token', system: str(data.system) ?? null, code: str(data.code) ?? null, ...normalizedText(data.display) }];
  }
}

const HUMAN_NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'];
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'];

export function stringEntries(param: string, { type, data }: FoundValue): StringEntry[] {
  if (typeof data === 'string') return data.trim() === '' ? [] : [{ param, kind: 'string', norm: normalizeString(data), exact: data }];
  if (!isObject(data)) return [];
  const parts = type === 'HumanName' ? HUMAN_NAME_PARTS : type === 'Address' ? ADDRESS_PARTS : [];
  return parts.flatMap((key) => {
    const v = data[key];
    return (Array.isArray(v) ? strings(v) : strings([v])).flatMap((s) => stringEntries(param, { type: 'string', data: s }));
  });
}

export function referenceEntries(param: string, { type, data }: FoundValue, ctx: ReferenceContext): ReferenceEntry[] {
  if (typeof data === 'string') {
    return [referenceEntry(param, data, ctx, type === 'canonical')];
  }
  if (!isObject(data) || type === undefined || type !== 'Reference') return [];
  const reference = str(data.reference);
  const declaredType = str(data.type) ?? null;
  const entry: ReferenceEntry = reference
    ? referenceEntry(param, reference, ctx, false)
    : { param, kind: 'reference', ref: null, targetType: declaredType, targetId: null };
  if (entry.targetType === null && declaredType !== null) entry.targetType = declaredType;
  if (isObject(data.identifier)) {
    entry.identifierSystem = str(data.identifier.system) ?? null;
    const value = str(data.identifier.value);
    if (value !== undefined) entry.identifierValue = value;
  }
  if (entry.ref === null && entry.identifierValue === undefined) return [];
  return [entry];
}

function referenceEntry(param: string, text: string, ctx: ReferenceContext, canonical: boolean): ReferenceEntry {
  const n = normalizeReference(text, ctx.baseUrl, canonical);
  const targetType = n.ref.startsWith('#') ? (ctx.containedTypes.get(n.ref.slice(1)) ?? null) : n.targetType;
  const entry: ReferenceEntry = { param, kind: 'reference', ref: n.ref, targetType, targetId: n.targetId };
  if (n.version !== undefined) entry.version = n.version;
  return entry;
}

export function dateEntries(param: string, { type, data }: FoundValue): DateEntry[] {
  if (typeof data === 'string') {
    const r = dateRange(data);
    return r ? [{ param, kind: 'date', low: r.low, high: r.high }] : [];
  }
  if (!isObject(data)) return [];
  if (type === 'Period') {
    const start = str(data.start) === undefined ? undefined : dateRange(data.start as string);
    const end = str(data.end) === undefined ? undefined : dateRange(data.end as string);
    if (!start && !end) return [];
    return [{ param, kind: 'date', low: start?.low ?? MIN_INSTANT, high: end?.high ?? MAX_INSTANT }];
  }
  if (type === 'Timing') {
    const events = strings(data.event).flatMap((e) => dateEntries(param, { type: 'dateTime', data: e }));
    const bounds = isObject(data.repeat) && isObject(data.repeat.boundsPeriod) ? data.repeat.boundsPeriod : undefined;
    return bounds ? [...events, ...dateEntries(param, { type: 'Period', data: bounds })] : events;
  }
  return [];
}

export function numberEntries(param: string, { data }: FoundValue): NumberEntry[] {
  return typeof data === 'number' && Number.isFinite(data) ? [{ param, kind: 'number', ...jsonNumberRange(data) }] : [];
}

/** ISO 4217 is the code system of Money.currency. */
const CURRENCY_SYSTEM = 'urn:iso:std:iso:4217';

export function quantityEntries(param: string, { type, data }: FoundValue): QuantityEntry[] {
  if (!isObject(data)) return [];
  if (type === 'Range') {
    const low = isObject(data.low) && typeof data.low.value === 'number' ? data.low : undefined;
    const high = isObject(data.high) && typeof data.high.value === 'number' ? data.high : undefined;
    const unitFrom = low ?? high;
    if (!unitFrom) return [];
    return [{
      param, kind: 'quantity', value: null,
      low: (low?.value as number | undefined) ?? OPEN_LOW,
      high: (high?.value as number | undefined) ?? OPEN_HIGH,
      ...units(unitFrom),
    }];
  }
  if (typeof data.value !== 'number' || !Number.isFinite(data.value)) return [];
  const { value, low, high } = jsonNumberRange(data.value);
  if (type === 'Money') {
    const currency = str(data.currency) ?? null;
    return [{ param, kind: 'quantity', value, low, high, system: currency && CURRENCY_SYSTEM, code: currency, unit: currency }];
  }
  return [{ param, kind: 'quantity', value, low, high, ...units(data) }];
}

function units(q: Json): Pick<QuantityEntry, 'system' | 'code' | 'unit'> {
  return { system: str(q.system) ?? null, code: str(q.code) ?? null, unit: str(q.unit) ?? null };
}

export function uriEntries(param: string, { data }: FoundValue): UriEntry[] {
  return typeof data === 'string' && data !== '' ? [{ param, kind: 'uri', value: data }] : [];
}
