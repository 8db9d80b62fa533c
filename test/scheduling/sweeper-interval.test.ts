/**
 * The hold sweeper's timer: a lapsed hold is cancelled within 30 s
 * (docs/scheduling.md, "$hold"), so the sweeper runs at least every 30 s
 * whatever SCHEDULING_HOLD_SECONDS or the asked interval; a shorter interval
 * is kept. The timer is observed by wrapping setInterval, never by waiting.
 */
import t from 'tap';
import { DEFAULT_SWEEP_INTERVAL_MS, installScheduling, type SchedulingOptions } from '../../src/scheduling/install';
import type { Storage } from '../../src/storage/port';

/** Installs scheduling on a store with no Appointments; answers the sweeper's interval and how many sweeps one tick of it starts. */
async function sweeperTimer(options: SchedulingOptions): Promise<{ intervalMs: number | undefined; searchesPerTick: number }> {
  let searches = 0;
  const storage = {
    onCommit: () => () => {},
    search: async () => {
      searches += 1;
      return { records: [], hasMore: false };
    },
  } as unknown as Storage;
  const original = globalThis.setInterval;
  const timers: { delay: number | undefined; tick: () => void }[] = [];
  globalThis.setInterval = ((tick: () => void, delay?: number) => {
    timers.push({ delay, tick });
    return original(tick, delay);
  }) as typeof setInterval;
  let scheduling;
  try {
    scheduling = installScheduling(storage, 'http://localhost/fhir', options);
  } finally {
    globalThis.setInterval = original;
  }
  try {
    // Let the start-up sweep run and finish first.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const before = searches;
    timers[0]?.tick();
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { intervalMs: timers.length === 1 ? timers[0]!.delay : undefined, searchesPerTick: searches - before };
  } finally {
    scheduling.stop();
  }
}

t.test('the sweeper runs at least every 30 s, whatever the hold time', async (t) => {
  const hourHold = await sweeperTimer({ holdSeconds: 3600 });
  t.equal(hourHold.intervalMs, DEFAULT_SWEEP_INTERVAL_MS, 'the default interval with a long hold');
  t.ok(DEFAULT_SWEEP_INTERVAL_MS <= 30_000, 'the default is within 30 s');
  t.equal(hourHold.searchesPerTick, 1, 'each tick sweeps');
  t.equal((await sweeperTimer({ holdSeconds: 86_400, sweepIntervalMs: 120_000 })).intervalMs, 30_000, 'a longer interval asked is capped at 30 s');
  t.equal((await sweeperTimer({ holdSeconds: 5, sweepIntervalMs: 600_000 })).intervalMs, 30_000, 'with a short hold too');
  t.equal((await sweeperTimer({ holdSeconds: 600, sweepIntervalMs: 50 })).intervalMs, 50, 'a shorter interval is kept');
});
