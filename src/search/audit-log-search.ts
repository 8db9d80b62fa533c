/**
 * What a search of the access log may ask. AuditEvents are kept in a log of
 * their own (not the generic resource tables), indexed only by what the log
 * is searched by, so the search over them is narrower than over other types:
 * the parameters below, a sort by `date`, and the paging and count controls.
 * Anything else is a 400 that names what is supported, never a silently
 * ignored parameter (an ignored filter on an access log answers more than
 * was asked for).
 *
 * One list, read by the parser (the 400), the CapabilityStatement (what it
 * promises) and the storage adapters (what they index).
 */
import { badRequest } from '../errors';

export const AUDIT_LOG_TYPE = 'AuditEvent';

/** The search parameters of the log, by their type in the R4 AuditEvent definitions. */
export const AUDIT_LOG_PARAMETERS = {
  _id: 'token',
  date: 'date',
  patient: 'reference',
  agent: 'reference',
  entity: 'reference',
  action: 'token',
  outcome: 'token',
  subtype: 'token',
  type: 'token',
  purpose: 'token',
} as const;

/** The token and reference parameters: the log's term rows. */
export const AUDIT_LOG_TERMS: readonly string[] = Object.entries(AUDIT_LOG_PARAMETERS)
  .filter(([code, type]) => code !== '_id' && type !== 'date')
  .map(([code]) => code);

/** Controls a log search takes, and the values those with a fixed set of values may have. */
const CONTROLS: Readonly<Record<string, readonly string[] | undefined>> = {
  _sort: ['date', '-date'],
  _count: undefined,
  _total: undefined,
  _summary: ['count'],
  // A system search narrowed to the log alone (`/?_type=AuditEvent`).
  _type: undefined,
  // Answered by the HTTP layer.
  _format: undefined,
  _pretty: undefined,
};

/** The supported parameters, for the 400s and the CapabilityStatement's documentation. */
export function auditLogSupported(): string {
  const controls = Object.entries(CONTROLS)
    .filter(([name]) => !['_type', '_format', '_pretty'].includes(name))
    .map(([name, values]) => (values ? values.map((value) => `${name}=${value}`).join(', ') : name));
  return [...Object.keys(AUDIT_LOG_PARAMETERS), ...controls].join(', ');
}

const refused = (name: string, what: string) =>
  badRequest(`${what}: the access log (AuditEvent) is searched by ${auditLogSupported()}, and paging`, [name]);

/**
 * Refuses what a search of AuditEvent (`types` = the log alone) cannot
 * answer. A parameter is named without its modifier or chain (`patient:Patient`
 * is `patient`); modifiers are checked by the storage, which knows which it
 * can answer.
 */
export function assertAuditLogSearch(types: readonly string[], pairs: ReadonlyArray<readonly [string, string]>): void {
  if (types.length !== 1 || types[0] !== AUDIT_LOG_TYPE) return;
  for (const [key, value] of pairs) {
    const name = key.split(':')[0]!;
    if (name in AUDIT_LOG_PARAMETERS) continue;
    if (!(name in CONTROLS)) throw refused(key, `The parameter ${key} is not supported`);
    const allowed = CONTROLS[name];
    if (allowed && !value.split(',').every((part) => allowed.includes(part.trim()))) throw refused(key, `${key}=${value} is not supported`);
  }
}

/**
 * `_include`, `_revinclude` and `_has` reach across types through the generic
 * index tables, which no longer hold AuditEvents: naming the log in them
 * would quietly find nothing, so it is a 400 pointing at the log's own search.
 */
export function assertNotJoinedWithAuditLog(name: string, sourceType: string): void {
  if (sourceType !== AUDIT_LOG_TYPE) return;
  throw badRequest(`${name}: the access log (AuditEvent) cannot be included or joined; search it with GET AuditEvent?patient=...`, [name]);
}

/**
 * The term parameters the log stores: the searchable ones, and those the
 * consent layer's conditions on AuditEvent use besides (security labels,
 * and `source`, one of the type's reference parameters a Consent's `data`
 * can name). The access filter is applied inside the log's queries like
 * everywhere else, so it must find every term it asks for.
 */
export const AUDIT_LOG_STORED_TERMS: readonly string[] = [...AUDIT_LOG_TERMS, '_security', 'source'];
