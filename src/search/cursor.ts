/**
 * The keyset cursor a `next` / `previous` link carries: base64url of
 * `{"after": CursorPosition}` or `{"before": CursorPosition}`. It is opaque
 * to clients but not secret: a client that edits one can only ask for
 * another position in the same order, so decoding checks the shape strictly
 * (anything else is a 400 naming the parameter) and the adapters only ever
 * bind its values as query parameters.
 */
import { badRequest } from '../errors';
import type { CursorPosition } from './query';

export type Cursor = { after: CursorPosition } | { before: CursorPosition };

/** A cursor far larger than any sort key tuple is junk, not a position. */
const MAX_CURSOR_LENGTH = 8192;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

/** `sortKeys`: the number of keys of the query's sort (one value per key). */
export function decodeCursor(parameter: string, raw: string, sortKeys: number): Cursor {
  const invalid = () => badRequest(`${parameter}: not a cursor of this search (use the links of the previous page)`, [parameter]);
  if (raw.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(raw)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!isRecord(parsed)) throw invalid();
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || (keys[0] !== 'after' && keys[0] !== 'before')) throw invalid();
  const position = parsed[keys[0]];
  if (!isPosition(position) || position.values.length !== sortKeys) throw invalid();
  const clean: CursorPosition = { values: position.values, resourceType: position.resourceType, id: position.id };
  return keys[0] === 'after' ? { after: clean } : { before: clean };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPosition(value: unknown): value is CursorPosition {
  if (!isRecord(value)) return false;
  const { values, resourceType, id } = value;
  return (
    typeof resourceType === 'string' &&
    /^[A-Za-z]{1,64}$/.test(resourceType) &&
    typeof id === 'string' &&
    /^[A-Za-z0-9\-.]{1,64}$/.test(id) &&
    Array.isArray(values) &&
    values.every((v) => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))
  );
}
