import type { Database } from 'better-sqlite3';

/**
 * Long value lists of cached access conditions (condition-sql.ts), kept as
 * JavaScript Sets that SQL looks values up in through `concord_in_set(id,
 * value)`. A cached consent filter names hundreds of patients; bound as a
 * JSON array, SQLite would parse it and build a lookup table from it on
 * every query. Here the list is built once, when the condition is compiled,
 * and a query binds only its number.
 *
 * The compiled fragment holds its Sets (`SetHolder.held`) and lives as long
 * as the condition it was compiled from (a WeakMap entry), so a Set lives
 * while a query can still name it; the registry holds them weakly and
 * forgets them once collected.
 */
const live = new Map<number, WeakRef<ReadonlySet<string>>>();
const forget = new FinalizationRegistry<number>((id) => live.delete(id));
let lastId = 0;

/** Where a compiled fragment keeps the Sets it names. */
export class SetHolder {
  readonly held: Array<ReadonlySet<string>> = [];

  /** Registers `values` as a Set and returns its id, to bind in `concord_in_set(?, column)`. */
  hold(values: readonly string[]): number {
    const set: ReadonlySet<string> = new Set(values);
    const id = ++lastId;
    live.set(id, new WeakRef(set));
    forget.register(set, id);
    this.held.push(set);
    return id;
  }
}

/**
 * Installs `concord_in_set` on a connection. It answers as `value IN (list)`
 * does for a list of texts without NULLs: NULL for a NULL value, else 1 or 0.
 */
export function installValueSets(db: Database): void {
  db.function('concord_in_set', { deterministic: true }, (id: unknown, value: unknown) => {
    if (value === null) return null;
    const set = live.get(Number(id))?.deref();
    // A bug, not the client's doing: a query outlived the condition it was compiled from.
    if (!set) throw new Error(`concord_in_set: value set ${String(id)} is not known`);
    return set.has(typeof value === 'string' ? value : String(value)) ? 1 : 0;
  });
}
