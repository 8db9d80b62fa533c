import { FhirError } from '../errors';
import type { HistoryPage, HistoryQuery, VersionRecord } from './port';

/*
 * The history of the access log, the same on every engine: an event's
 * history is its one version; the log has no type-level history (it is
 * searched by date instead, AuditEvent?date=...).
 */

/** The event whose history is asked for; a 400 for the type's history. */
export function eventHistoryId(query: HistoryQuery): string {
  if (query.id === undefined) throw FhirError.of(400, 'not-supported', 'The access log has no type history: search AuditEvent?date=... instead');
  return query.id;
}

/** The page of an event's history, from the event as read (with the access filter). */
export function eventHistory(query: HistoryQuery, record: VersionRecord | undefined): HistoryPage {
  const shown = record !== undefined && (query.since === undefined || record.lastUpdated >= query.since) && (query.at === undefined || record.lastUpdated <= query.at);
  return { records: shown && query.offset === 0 && query.count > 0 ? [record] : [], total: shown ? 1 : 0 };
}
