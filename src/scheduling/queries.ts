/**
 * The searches scheduling runs, over any StorageOps (a unit's own inside
 * the booking rule, the storage for `$find`): criteria as a client would
 * write them, parsed by the search parser, so both engines answer them.
 */
import type { Appointment } from 'fhir/r4';
import type { RequestContext } from '../context';
import { parseSearch } from '../search/parse';
import type { SearchResult, StorageOps, VersionRecord } from '../storage/port';
import { ACTIVE_STATUS_LIST, intervalOf, isActive, overlaps, type Interval } from './appointment-state';

/** Rows read per page. */
const PAGE = 500;

/** The current matches of the criteria, in the criteria's `_sort` order, one page at a time (keyset paging). */
export async function* searchPages(ops: StorageOps, ctx: RequestContext, type: string, criteria: Array<[string, string]>, pageSize = PAGE): AsyncGenerator<VersionRecord[]> {
  const { query } = parseSearch([type], criteria, { strict: true, baseUrl: ctx.baseUrl, now: ctx.now });
  for (let after = undefined as SearchResult['last']; ; ) {
    const page = await ops.search(ctx, { ...query, count: pageSize, offset: 0, total: 'none', ...(after && { after }) });
    if (page.records.length > 0) yield page.records;
    if (!page.hasMore || page.records.length < pageSize || !page.last) return;
    after = page.last;
  }
}

/** Every current match of the criteria. */
export async function searchAll(ops: StorageOps, ctx: RequestContext, type: string, criteria: Array<[string, string]>): Promise<VersionRecord[]> {
  const found: VersionRecord[] = [];
  for await (const page of searchPages(ops, ctx, type, criteria)) found.push(...page);
  return found;
}

/** The Appointments active at `ctx.now` among those that name any of these Slots. */
export async function activeHoldersOf(ops: StorageOps, ctx: RequestContext, slotRefs: readonly string[]): Promise<Appointment[]> {
  if (slotRefs.length === 0) return [];
  const records = await searchAll(ops, ctx, 'Appointment', [
    ['slot', slotRefs.join(',')],
    ['status', ACTIVE_STATUS_LIST],
  ]);
  return records.map((record) => record.resource as unknown as Appointment).filter((appointment) => isActive(appointment, ctx.now));
}

/**
 * The Appointments active at `ctx.now` that name any of these actors (any
 * participant status: the caller tells declined ones apart) and overlap
 * `window`. One search for all of them: a booking asks for each participant.
 * Both ends bound it (`date` is the start; `end` is Concord's parameter on
 * Appointment.end), so it reads the overlapping ones, not a participant's
 * whole calendar. Appointments stored before `end` was indexed have no
 * entry for it: a second search finds them (`end:missing`) until
 * `npm run reindex` has run, so that no overlap is ever missed.
 */
export async function activeAppointmentsOf(ops: StorageOps, ctx: RequestContext, actors: readonly string[], window: Interval): Promise<Appointment[]> {
  if (actors.length === 0) return [];
  const of = (end: [string, string]) =>
    searchAll(ops, ctx, 'Appointment', [
      end,
      ['date', `lt${new Date(window.end).toISOString()}`],
      ['actor', actors.join(',')],
      ['status', ACTIVE_STATUS_LIST],
    ]);
  const records = [...(await of(['end', `gt${new Date(window.start).toISOString()}`])), ...(await of(['end:missing', 'true']))];
  return records
    .map((record) => record.resource as unknown as Appointment)
    .filter((appointment) => {
      const interval = intervalOf(appointment);
      return isActive(appointment, ctx.now) && interval !== undefined && overlaps(interval, window);
    });
}
