/**
 * Scheduling's queries on the MongoDB adapter, without a server: the same
 * world written to the adapter's documents in memory (read by mingo,
 * test/storage/mingo-image.ts) and to SQLite, then the booking rule's
 * searches (active holders of Slots, active Appointments of participants),
 * `$find` and the `$bulk-publish` snapshot run over each and must give the
 * same, expected answers. The rule's units and guards on MongoDB are in
 * engines.test.ts (fakes, and a real replica set when MONGODB_URI names one).
 */
import type { Bundle } from 'fhir/r4';
import t, { type Test } from 'tap';
import { systemContext, type RequestContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { Services } from '../../src/interactions/services';
import { findAppointments } from '../../src/operations/appointment-find';
import { bulkPublish } from '../../src/operations/bulk-publish';
import { HOLD_EXPIRES_URL } from '../../src/scheduling/appointment-state';
import { activeAppointmentsOf, activeHoldersOf } from '../../src/scheduling/queries';
import { resourcesAsOf } from '../../src/scheduling/snapshot';
import { createIndexer } from '../../src/search/indexer';
import { defaultParamSource, type SearchParamSource } from '../../src/search/param-source';
import type { StorageOps } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { MingoImage } from '../storage/mingo-image';
import { at, clinicResources } from './clinic';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const BASE = 'http://localhost:8080/fhir';
const indexer = createIndexer({ baseUrl: BASE });
/** Each write one second after the last, as separate requests would be stamped. */
const START = Date.parse('2026-01-01T00:00:00.000Z');
const instant = (step: number) => new Date(START + step * 1000).toISOString();
const ctxAt = (step: number): RequestContext => ({ ...systemContext(BASE), now: new Date(instant(step)) });

const appointment = (id: string, status: string, slot: string, start: string, end: string, participants: Array<[string, string]>, extra: Json = {}) => ({
  resourceType: 'Appointment',
  id,
  status,
  slot: [{ reference: `Slot/${slot}` }],
  start: at(start),
  end: at(end),
  participant: participants.map(([reference, status]) => ({ actor: { reference }, status })),
  ...extra,
});

/** The clinic (steps 0...), then bookings and their Slots' statuses: the instant between the two is SNAPSHOT. */
async function writeWorld(ops: StorageOps): Promise<number> {
  let step = 0;
  for (const resource of clinicResources(2)) await ops.update(ctxAt(step++), resource as AnyResource);
  const snapshot = step++;
  const put = async (resource: Json) => void (await ops.update(ctxAt(step++), resource as AnyResource));
  await put(appointment('a-booked', 'booked', 'slot-1-0900', '09:00', '09:15', [['Practitioner/pr1', 'accepted'], ['Patient/p1', 'accepted']]));
  const hold = [{ url: HOLD_EXPIRES_URL, valueInstant: '2031-01-01T00:00:00Z' }];
  await put(appointment('a-held', 'pending', 'slot-1-0915', '09:15', '09:30', [['Practitioner/pr1', 'accepted'], ['Patient/p2', 'accepted']], { extension: hold }));
  await put(appointment('a-cancelled', 'cancelled', 'slot-2-0900', '09:00', '09:15', [['Practitioner/pr2', 'accepted'], ['Patient/p1', 'accepted']]));
  await put(appointment('a-declined', 'booked', 'slot-2-0930', '09:30', '09:45', [['Practitioner/pr2', 'accepted'], ['Patient/p2', 'declined']]));
  const slot = (id: string, status: string, hhmm: string, end: string) =>
    put({ resourceType: 'Slot', id, schedule: { reference: `Schedule/sched-${id[5]}` }, status, start: at(hhmm), end: at(end) });
  await slot('slot-1-0900', 'busy', '09:00', '09:15');
  await slot('slot-1-0915', 'busy-tentative', '09:15', '09:30');
  await slot('slot-2-0930', 'busy', '09:30', '09:45');
  await ops.delete(ctxAt(step++), 'Slot', 'slot-2-0945');
  return snapshot;
}

async function engines(t: Test) {
  const mongo = new MingoImage(indexer);
  const sqlite = createSqliteStorage({ path: ':memory:', indexer });
  t.teardown(() => sqlite.close());
  const snapshot = await writeWorld(mongo);
  await writeWorld(sqlite);
  return { snapshot, both: [['mongodb (mingo)', mongo], ['sqlite', sqlite]] as Array<[string, StorageOps]> };
}

const ids = (resources: Array<{ id?: string }>) => resources.map((r) => r.id).sort();
const window = { start: Date.parse(at('09:00')), end: Date.parse(at('10:00')) };

t.test("the booking rule's searches", async (t) => {
  const { both } = await engines(t);
  for (const [name, ops] of both) {
    const ctx = ctxAt(1000);
    t.same(ids(await activeHoldersOf(ops, ctx, ['Slot/slot-1-0900', 'Slot/slot-1-0915', 'Slot/slot-2-0900', 'Slot/slot-2-0930'])), ['a-booked', 'a-declined', 'a-held'], `${name}: active holders`);
    t.same(ids(await activeAppointmentsOf(ops, ctx, ['Patient/p1'], window)), ['a-booked'], `${name}: a cancelled Appointment is not active`);
    t.same(ids(await activeAppointmentsOf(ops, ctx, ['Practitioner/pr1', 'Patient/p2'], window)), ['a-booked', 'a-declined', 'a-held'], `${name}: one search for several actors`);
    const late = { start: Date.parse(at('09:45')), end: Date.parse(at('10:00')) };
    t.same(ids(await activeAppointmentsOf(ops, ctx, ['Practitioner/pr2'], late)), [], `${name}: half-open, back-to-back does not overlap`);
  }
});

t.test('$find over each engine', async (t) => {
  const { both } = await engines(t);
  const find = (ops: StorageOps, extra: Json[]) =>
    findAppointments({ storage: ops } as unknown as Services, ctxAt(1000), {
      resourceType: 'Parameters',
      parameter: [{ name: 'start', valueDateTime: at('08:00') }, { name: 'end', valueDateTime: at('12:00') }, ...extra],
    });
  const slots = (bundle: Bundle) => (bundle.entry ?? []).map((e) => (e.resource as Json).slot[0].reference as string);
  for (const [name, ops] of both) {
    t.same(slots(await find(ops, [])), ['slot-2-0900', 'slot-2-0915', 'slot-1-0930', 'slot-1-0945'].map((s) => `Slot/${s}`), `${name}: free, unheld, sorted by start`);
    t.same(slots(await find(ops, [{ name: 'practitioner', valueReference: { reference: 'Practitioner/pr2' } }])), ['Slot/slot-2-0900', 'Slot/slot-2-0915'], `${name}: one practitioner`);
    const forP2 = slots(await find(ops, [{ name: 'patient-reference', valueReference: { reference: 'Patient/p2' } }]));
    t.same(forP2, ['Slot/slot-2-0900', 'Slot/slot-1-0930', 'Slot/slot-1-0945'], `${name}: p2's hold takes out 09:15; p2 declined 09:30, so 09:30 is still offered`);
    const forP1 = slots(await find(ops, [{ name: 'patient-reference', valueReference: { reference: 'Patient/p1' } }]));
    t.same(forP1, ['Slot/slot-2-0915', 'Slot/slot-1-0930', 'Slot/slot-1-0945'], `${name}: p1's booked 09:00 takes out slot-2-0900; the cancelled one counts for nothing`);
  }
});

t.test('the $bulk-publish snapshot over each engine', async (t) => {
  const { snapshot, both } = await engines(t);
  const slotFile = async (ops: StorageOps, transactionTime: string, since?: string) => {
    const parameter = [{ name: 'file', valueCode: 'Slot' }, { name: 'transactionTime', valueInstant: transactionTime }, ...(since ? [{ name: '_since', valueInstant: since }] : [])];
    const answer = await bulkPublish({ storage: ops } as unknown as Services, ctxAt(1000), { resourceType: 'Parameters', parameter });
    return (answer.ndjson ?? []).map((slot) => `${slot.id}:${(slot as Json).status}`);
  };
  const all = ['0900', '0915', '0930', '0945'].flatMap((time) => [`slot-1-${time}:free`, `slot-2-${time}:free`]);
  for (const [name, ops] of both) {
    t.same(await slotFile(ops, instant(snapshot)), all, `${name}: as of the snapshot, before the bookings and the delete`);
    const now = await slotFile(ops, instant(999));
    t.same(now, ['slot-1-0900:busy', 'slot-2-0900:free', 'slot-1-0915:busy-tentative', 'slot-2-0915:free', 'slot-1-0930:free', 'slot-2-0930:busy', 'slot-1-0945:free'], `${name}: later, deleted Slot gone`);
    t.same(await slotFile(ops, instant(999), instant(snapshot)), ['slot-1-0900:busy', 'slot-1-0915:busy-tentative', 'slot-2-0930:busy'], `${name}: _since`);
    t.same(ids(await resourcesAsOf(ops, ctxAt(1000), 'Appointment', instant(snapshot))), [], `${name}: no Appointment yet at the snapshot`);
  }
});

t.test('an Appointment stored before `end` was indexed still counts for overlaps', async (t) => {
  // The indexer of a server from before the parameter: everything but Appointment's `end`.
  const before: SearchParamSource = {
    ...defaultParamSource,
    searchParameters: (type) => defaultParamSource.searchParameters(type).filter((param) => !(type === 'Appointment' && param.code === 'end')),
  };
  const legacy = createIndexer({ baseUrl: BASE, params: before });
  const sqlite = createSqliteStorage({ path: ':memory:', indexer: legacy });
  t.teardown(() => sqlite.close());
  const old = appointment('old', 'booked', 'slot-1-0900', '09:00', '10:00', [['Practitioner/pr1', 'accepted'], ['Patient/p1', 'accepted']]);
  for (const [name, ops] of [['mongodb (mingo)', new MingoImage(legacy)], ['sqlite', sqlite]] as Array<[string, StorageOps]>) {
    await ops.update(ctxAt(1), old as AnyResource);
    const later = { start: Date.parse(at('09:30')), end: Date.parse(at('09:45')) };
    t.same(ids(await activeAppointmentsOf(ops, ctxAt(2), ['Patient/p1'], later)), ['old'], `${name}: found without its end entry`);
  }
});
