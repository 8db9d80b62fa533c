import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes generated JSON deterministically: object keys sorted where the caller
 * asks, one top-level entry per line so that a diff of a regenerated artefact
 * shows which type or parameter changed, without the bulk of pretty-printing.
 */
export function writeArtefact(file: string, value: unknown, depth = 1): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, linePerEntry(value, depth) + '\n');
}

/** JSON with the entries of the first `depth` levels of nesting on lines of their own. */
function linePerEntry(value: unknown, depth: number): string {
  if (depth <= 0 || value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return '[\n' + value.map((v) => linePerEntry(v, depth - 1)).join(',\n') + '\n]';
  const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${linePerEntry(v, depth - 1)}`);
  return '{\n' + entries.join(',\n') + '\n}';
}

/** A copy of `record` with its keys in code-point order. */
export function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
