/**
 * The sweeper of lapsed holds: a pending Appointment whose hold expiry
 * (appointment-state.ts) has passed is cancelled, which the booking rule
 * answers by freeing its Slots. A lapsed hold blocks nothing even before it
 * is swept (isActive): the sweeper only tidies the stored state, so a
 * missed run costs nothing but stale statuses. The expiry is in the stored
 * Appointment, so it survives a restart: the first run after start-up
 * finds every hold that lapsed while the server was down.
 */
import type { Appointment } from 'fhir/r4';
import { systemContext } from '../context';
import type { AnyResource } from '../fhir/types';
import { parseSearch } from '../search/parse';
import type { Storage, VersionRecord } from '../storage/port';
import { isLapsedHold } from './appointment-state';

/**
 * Told of each hold the sweeper cancelled, with the version it wrote: the
 * server's audit records it as a write, like a cancellation through the API
 * (the HTTP layer passes it; this floor cannot reach the audit).
 */
export type OnHoldsReleased = (released: readonly VersionRecord[]) => void;

export interface HoldSweeper {
  sweep(): Promise<number>;
  stop(): void;
}

/** Pending Appointments read per page while sweeping. */
const PAGE = 200;

export function startHoldSweeper(
  storage: Storage,
  baseUrl: string,
  clock: () => Date,
  intervalMs: number,
  warn: (message: string) => void,
  onReleased: OnHoldsReleased = () => {},
): HoldSweeper {
  let running: Promise<number> | undefined;
  const sweep = () => (running ??= sweepLapsedHolds(storage, baseUrl, clock, onReleased).finally(() => (running = undefined)));
  const timer = setInterval(() => {
    sweep().catch((error: unknown) => warn(`Sweeping lapsed holds failed: ${error instanceof Error ? error.message : String(error)}`));
  }, intervalMs);
  // The sweeper never keeps the process alive on its own.
  timer.unref();
  // At start-up too: holds that lapsed while the server was down.
  setImmediate(() => void sweep().catch(() => undefined));
  return { sweep, stop: () => clearInterval(timer) };
}

/** Cancels every hold lapsed at the clock's "now"; answers how many. */
export async function sweepLapsedHolds(storage: Storage, baseUrl: string, clock: () => Date, onReleased: OnHoldsReleased = () => {}): Promise<number> {
  const now = clock();
  const ctx = { ...systemContext(baseUrl, 'hold-sweeper'), now };
  const { query } = parseSearch(['Appointment'], [['status', 'pending']], { strict: true, baseUrl, now });
  const lapsed: string[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await storage.search(ctx, { ...query, count: PAGE, offset, total: 'none' });
    for (const record of page.records) if (isLapsedHold(record.resource as unknown as Appointment, now)) lapsed.push(record.id);
    if (!page.hasMore || page.records.length === 0) break;
  }
  const released: VersionRecord[] = [];
  for (const id of lapsed) {
    // Read again in the unit: a $book may have turned the hold into a booking meanwhile.
    const written = await storage.unitOfWork(async (tx) => {
      const current = (await tx.read(ctx, 'Appointment', id))?.resource as unknown as Appointment | undefined;
      if (!current || !isLapsedHold(current, now)) return undefined;
      const cancelled: Appointment = { ...current, status: 'cancelled', cancelationReason: { text: 'The hold expired' } };
      return (await tx.update(ctx, cancelled as unknown as AnyResource)).record;
    }, { guard: `Appointment/${id}` });
    if (written) released.push(written);
  }
  if (released.length > 0) onReleased(released);
  return released.length;
}
