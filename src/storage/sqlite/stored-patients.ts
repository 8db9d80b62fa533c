import type { Database } from 'better-sqlite3';

/**
 * The patients of each stored version (VersionRecord.patients), kept in a
 * `patients` column of `resources` and `history` as a JSON array, computed
 * when the version is written. A database from before the column gets it
 * here, empty (NULL): such rows read as before, and the audit then takes
 * their patients from the body (security/audit/install-audit.ts) until
 * they are written again.
 */
export function addPatientColumns(db: Database): void {
  for (const table of ['resources', 'history']) {
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>;
    if (!columns.some((column) => column.name === 'patients')) db.exec(`ALTER TABLE ${table} ADD COLUMN patients TEXT`);
  }
}

const none: readonly string[] = Object.freeze([]);

export function encodePatients(patients: readonly string[] | undefined): string | null {
  return patients === undefined ? null : JSON.stringify(patients);
}

export function decodePatients(text: string | null | undefined): readonly string[] | undefined {
  if (text === null || text === undefined) return undefined;
  return text === '[]' ? none : (JSON.parse(text) as string[]);
}
