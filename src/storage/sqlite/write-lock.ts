/**
 * A FIFO async mutex. better-sqlite3 is synchronous, but a unit of work awaits
 * between its statements while its transaction is open on the one writer
 * connection; anything else that touches that connection in the meantime would
 * join the transaction. Every writer therefore takes this lock first.
 */
export class WriteLock {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> | void {
    if (!this.held) {
      this.held = true;
      return;
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Hands the lock straight to the next waiter, so that no newcomer can overtake the queue. */
  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}
