import type { Prefix } from './query';

const PREFIXES: ReadonlySet<string> = new Set<Prefix>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

/**
 * Splits an optional comparison prefix off a date/number/quantity value. Only
 * two lower-case letters followed by something else count as a prefix, so that
 * a bad one (`xx2020`) reaches the value parser and is reported there.
 */
export function splitPrefix(text: string): { prefix: Prefix; rest: string } {
  const head = text.slice(0, 2);
  if (/^[a-z]{2}$/.test(head) && text.length > 2) {
    if (PREFIXES.has(head)) return { prefix: head as Prefix, rest: text.slice(2) };
  }
  return { prefix: 'eq', rest: text };
}
