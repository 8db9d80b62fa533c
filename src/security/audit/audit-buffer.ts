import type { AnyResource } from '../../fhir/types';

/** A timer the buffer can cancel; tests pass a scheduler they fire themselves. */
export type Schedule = (run: () => void, delayMs: number) => { cancel(): void };

export interface AuditBufferOptions {
  /** Stores a batch atomically (one unit of work): all of it is durable when it resolves, none of it when it rejects. */
  write: (events: AnyResource[]) => Promise<void>;
  /** A failed write, for the log (never with the events: they name patients). */
  onWriteError: (error: unknown, pending: number) => void;
  schedule?: Schedule;
}

/** Longest wait between the first buffered event and the start of its write (the window is 250 ms including the write). */
export const FLUSH_DELAY_MS = 100;
/**
 * A batch this large is written at once. Each batch is one commit, whose cost
 * hardly depends on its size: at 500 an event costs the log's writer about a
 * fifth less CPU than at 100 (measured on the SQLite append thread), and a
 * busy server reaches it within the FLUSH_DELAY_MS window anyway.
 */
export const FLUSH_EVENTS = 500;
/**
 * This many waiting while a write is in progress: the writes fall behind the
 * requests (the log is written on another thread, which can be slower than
 * the requests), and each audited response waits for its events instead of
 * adding to an ever longer wait. Keeps the buffered window bounded.
 */
export const BEHIND_EVENTS = FLUSH_EVENTS + 200;
/** Pause before writing again after a failure. */
export const RETRY_DELAY_MS = 200;

const timer: Schedule = (run, delayMs) => {
  const handle = setTimeout(run, delayMs);
  handle.unref();
  return { cancel: () => clearTimeout(handle) };
};

/**
 * The AuditEvents of answered requests on their way to storage: written in
 * batches at most FLUSH_DELAY_MS after the first of them arrives (at once
 * when FLUSH_EVENTS are waiting), one unit of work per batch, so that a
 * response does not wait for its audit commit while every record is still
 * durable within the window. A failed write keeps the batch and retries it
 * every RETRY_DELAY_MS; until one succeeds the buffer is `failing`, and the
 * audit hook refuses to serve authenticated callers (fail closed).
 */
export class AuditBuffer {
  private pending: AnyResource[] = [];
  private timer: { cancel(): void } | undefined;
  private writing: Promise<void> = Promise.resolve();
  private lastWriteFailed = false;
  private readonly schedule: Schedule;

  constructor(private readonly options: AuditBufferOptions) {
    this.schedule = options.schedule ?? timer;
  }

  /** The last write failed and none has succeeded since: nothing new may be served. */
  get failing(): boolean {
    return this.lastWriteFailed;
  }

  get size(): number {
    return this.pending.length;
  }

  /** Writes fall behind (BEHIND_EVENTS): the caller should wait for a flush before answering. */
  get behind(): boolean {
    return this.pending.length >= BEHIND_EVENTS;
  }

  add(events: readonly AnyResource[]): void {
    const before = this.pending.length;
    this.pending.push(...events);
    if (before < FLUSH_EVENTS && this.pending.length >= FLUSH_EVENTS) this.flushQuietly();
    else this.timer ??= this.schedule(() => this.flushQuietly(), FLUSH_DELAY_MS);
  }

  /** Writes everything buffered so far; rejects if that write fails (the events stay buffered, a retry is scheduled). */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    // One write at a time, in arrival order: a flush waits for the one in progress, then writes what is left.
    const next = this.writing.catch(() => undefined).then(() => this.writeAll());
    this.writing = next;
    return next;
  }

  /** A flush nobody waits for: its failure is reported through onWriteError and retried. */
  private flushQuietly(): void {
    this.flush().catch(() => undefined);
  }

  private async writeAll(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      await this.options.write(batch);
      this.lastWriteFailed = false;
    } catch (error) {
      this.pending = [...batch, ...this.pending];
      this.lastWriteFailed = true;
      this.options.onWriteError(error, this.pending.length);
      this.timer ??= this.schedule(() => this.flushQuietly(), RETRY_DELAY_MS);
      throw error;
    }
  }
}
