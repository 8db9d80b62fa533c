/** Least time between two AUTH_MODE=off reminders in the log. */
export const AUTH_OFF_REMINDER_MS = 60_000;

export const AUTH_OFF_WARNING = 'AUTH_MODE=off: security is disabled, every request acts as the operator without authentication';

/**
 * The AUTH_MODE=off warning: once when the server starts, then again at most
 * once a minute while requests keep arriving. Loud enough that an open server
 * cannot go unnoticed in its logs, without a line per request (a loaded
 * server wrote hundreds of megabytes of the same warning).
 *
 * `remind()` is called per request: one clock read and a comparison.
 */
export function authOffWarning(warn: (message: string) => void, options: { intervalMs?: number; now?: () => number } = {}) {
  const intervalMs = options.intervalMs ?? AUTH_OFF_REMINDER_MS;
  const now = options.now ?? Date.now;
  let last = now();
  warn(AUTH_OFF_WARNING);
  return {
    remind(): void {
      const at = now();
      if (at - last < intervalMs) return;
      last = at;
      warn(AUTH_OFF_WARNING);
    },
  };
}
