/**
 * Storage errors that say "busy, try again" rather than "broken": SQLite's
 * SQLITE_BUSY / SQLITE_LOCKED ("database is locked", after busy_timeout ran
 * out behind another writer) and MongoDB's transient labels
 * (TransientTransactionError, retryable writes) and write conflicts. The HTTP
 * layer answers them 503 with Retry-After, never 500: nothing was written,
 * and the same request can succeed a moment later.
 */
const SQLITE_BUSY_CODES = /^SQLITE_(BUSY|LOCKED)/;

/** MongoDB server codes for a conflict or an election in progress (error_codes.yml): WriteConflict, LockTimeout, NotWritablePrimary, PrimarySteppedDown... */
const MONGO_TRANSIENT_CODES = new Set([112, 24, 10107, 189, 91, 11602, 13435, 251]);

const MONGO_TRANSIENT_LABELS = ['TransientTransactionError', 'RetryableWriteError'];

interface MaybeStorageError {
  code?: unknown;
  name?: unknown;
  hasErrorLabel?: (label: string) => boolean;
}

export function isTransientStorageError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as MaybeStorageError;
  if (typeof e.code === 'string' && SQLITE_BUSY_CODES.test(e.code)) return true;
  if (typeof e.hasErrorLabel === 'function' && MONGO_TRANSIENT_LABELS.some((label) => e.hasErrorLabel?.(label))) return true;
  if (typeof e.name === 'string' && e.name.startsWith('Mongo') && typeof e.code === 'number' && MONGO_TRANSIENT_CODES.has(e.code)) return true;
  return e.name === 'MongoServerSelectionError' || e.name === 'MongoNetworkTimeoutError';
}

/** Seconds a client should wait before sending a request that met a busy database again. */
export const BUSY_RETRY_AFTER_SECONDS = 1;
