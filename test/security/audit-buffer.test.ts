import t from 'tap';
import type { AnyResource } from '../../src/fhir/types';
import { AuditBuffer, BEHIND_EVENTS, FLUSH_DELAY_MS, FLUSH_EVENTS, type Schedule } from '../../src/security/audit/audit-buffer';

/** A scheduler the test fires by hand: what was asked for, and when. */
function manualClock(): { schedule: Schedule; timers: Array<{ delayMs: number; run: () => void; cancelled: boolean }> } {
  const timers: Array<{ delayMs: number; run: () => void; cancelled: boolean }> = [];
  return {
    timers,
    schedule: (run, delayMs) => {
      const timer = { delayMs, run, cancelled: false };
      timers.push(timer);
      return { cancel: () => void (timer.cancelled = true) };
    },
  };
}

const event = (id: string) => ({ resourceType: 'AuditEvent', id }) as AnyResource;
const settle = () => new Promise((resolve) => setImmediate(resolve));

t.test('events are written in one batch, at most 250 ms after the first of them arrived', async (t) => {
  const clock = manualClock();
  const batches: string[][] = [];
  const buffer = new AuditBuffer({ write: async (events) => void batches.push(events.map((e) => e.id!)), onWriteError: () => {}, schedule: clock.schedule });
  buffer.add([event('a')]);
  buffer.add([event('b'), event('c')]);
  t.equal(clock.timers.length, 1, 'one timer, started by the first event');
  t.ok(FLUSH_DELAY_MS <= 250 && clock.timers[0]!.delayMs === FLUSH_DELAY_MS, 'within the 250 ms window');
  t.same(batches, [], 'nothing written before the timer');
  clock.timers[0]!.run();
  await settle();
  t.same(batches, [['a', 'b', 'c']], 'one batch, in arrival order');
  t.equal(buffer.size, 0);
});

t.test('a full batch is written at once, without waiting for the timer', async (t) => {
  const clock = manualClock();
  const batches: number[] = [];
  const buffer = new AuditBuffer({ write: async (events) => void batches.push(events.length), onWriteError: () => {}, schedule: clock.schedule });
  buffer.add(Array.from({ length: FLUSH_EVENTS }, (_, i) => event(String(i))));
  await settle();
  t.same(batches, [FLUSH_EVENTS]);
});

t.test('a failed write keeps the batch, marks the buffer failing and retries until a write succeeds', async (t) => {
  const clock = manualClock();
  let fail = true;
  const written: string[] = [];
  const errors: number[] = [];
  const buffer = new AuditBuffer({
    write: async (events) => {
      if (fail) throw new Error('disk full');
      written.push(...events.map((e) => e.id!));
    },
    onWriteError: (_error, pending) => errors.push(pending),
    schedule: clock.schedule,
  });
  buffer.add([event('a')]);
  await t.rejects(buffer.flush(), { message: 'disk full' });
  t.ok(buffer.failing);
  t.same(errors, [1], 'reported with the count only');
  const retry = clock.timers.find((timer) => !timer.cancelled && timer.delayMs !== FLUSH_DELAY_MS);
  t.ok(retry, 'a retry is scheduled');
  fail = false;
  retry!.run();
  await settle();
  t.same(written, ['a'], 'the retry writes the kept batch');
  t.notOk(buffer.failing, 'and the buffer recovers');
});

t.test('the buffer says when writes fall behind, until a flush catches up', async (t) => {
  const clock = manualClock();
  let release: () => void = () => {};
  const buffer = new AuditBuffer({ write: () => new Promise<void>((resolve) => (release = resolve)), onWriteError: () => {}, schedule: clock.schedule });
  buffer.add(Array.from({ length: FLUSH_EVENTS }, (_, i) => event(`first-${i}`)));
  await settle();
  t.equal(buffer.size, 0, 'a full batch is being written');
  buffer.add(Array.from({ length: BEHIND_EVENTS - 1 }, (_, i) => event(`next-${i}`)));
  t.notOk(buffer.behind, `${BEHIND_EVENTS - 1} waiting behind a slow write`);
  buffer.add([event('one-more')]);
  t.ok(buffer.behind, `${BEHIND_EVENTS} waiting`);
  const caughtUp = buffer.flush();
  release();
  await settle();
  release();
  await caughtUp;
  t.notOk(buffer.behind);
  t.equal(buffer.size, 0);
});
