/**
 * Scheduling at server start: the booking rule registered on the storage's
 * commit hooks (every write path of Appointment and Slot runs through it)
 * and the sweeper of lapsed holds. One call, from the HTTP layer's
 * buildServer, so that tests and main.ts get the same server.
 */
import { DEFAULT_HOLD_SECONDS } from '../config';
import type { Storage } from '../storage/port';
import { bookingRule } from './booking-rule';
import { startHoldSweeper, type OnHoldsReleased } from './hold-sweeper';

export interface SchedulingOptions {
  /** `SCHEDULING_HOLD_SECONDS`. */
  holdSeconds?: number;
  /** "Now" for holds and the rule; tests pass a clock they move. */
  clock?: () => Date;
  /** How often the sweeper looks for lapsed holds (at most 30 s: a lapsed hold is cancelled within 30 s). */
  sweepIntervalMs?: number;
  /** Told of the holds each sweep cancelled (the server audits them). */
  onHoldsReleased?: OnHoldsReleased;
}

/** What the scheduling operations need, once installed. */
export interface Scheduling {
  readonly holdSeconds: number;
  readonly clock: () => Date;
  /** False when the storage cannot run the rule inside its units (standalone MongoDB): `$hold` and `$book` then answer 501. */
  readonly enforced: boolean;
  /** Cancels the holds that have lapsed now; answers how many (the sweeper calls it, tests too). */
  sweep(): Promise<number>;
  stop(): void;
}

export const DEFAULT_SWEEP_INTERVAL_MS = 10_000;

export function installScheduling(storage: Storage, baseUrl: string, options: SchedulingOptions = {}, warn: (message: string) => void = () => {}): Scheduling {
  const clock = options.clock ?? (() => new Date());
  const holdSeconds = options.holdSeconds ?? DEFAULT_HOLD_SECONDS;
  const unsubscribe = register(storage, baseUrl, clock, warn);
  const sweeper = startHoldSweeper(storage, baseUrl, clock, Math.min(options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, 30_000), warn, options.onHoldsReleased);
  return {
    holdSeconds,
    clock,
    enforced: unsubscribe !== undefined,
    sweep: () => sweeper.sweep(),
    stop: () => {
      sweeper.stop();
      unsubscribe?.();
    },
  };
}

function register(storage: Storage, baseUrl: string, clock: () => Date, warn: (message: string) => void) {
  try {
    if (!storage.onCommit) throw new Error('the storage has no commit hooks');
    return storage.onCommit(bookingRule({ baseUrl, clock }));
  } catch (error) {
    // Loud, not fatal: a server that does not schedule still serves everything else; the operations refuse to book.
    warn(`SCHEDULING RULES ARE NOT ENFORCED: ${error instanceof Error ? error.message : String(error)}. Appointments and Slots can be double-booked through plain writes; $hold and $book answer 501.`);
    return undefined;
  }
}
