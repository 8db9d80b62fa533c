/**
 * `GET /$bulk-publish` (SMART Scheduling Links): the manifest, its three
 * NDJSON files (Locations, Schedules naming no Patient, their future Slots
 * not entered-in-error, extensions as given), `_since`, never an
 * Appointment or a patient, and the rights it needs.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { BASE_URL, startSecureHarness } from '../security/auth-kit';
import { clinicResources } from './clinic';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ndjson = (body: string) => body.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Json);

t.test('manifest and files', async (t) => {
  const h = await startSecureHarness();
  t.teardown(() => h.close());
  const ctx = systemContext(BASE_URL);
  for (const resource of clinicResources(1)) await h.storage.update(ctx, resource as AnyResource);
  await h.storage.update(ctx, { resourceType: 'Schedule', id: 'of-patient', actor: [{ reference: 'Patient/p1' }] } as AnyResource);
  await h.storage.update(ctx, { resourceType: 'Slot', id: 'patient-slot', schedule: { reference: 'Schedule/of-patient' }, status: 'free', start: '2030-03-04T10:00:00Z', end: '2030-03-04T10:15:00Z' } as AnyResource);
  await h.storage.update(ctx, { resourceType: 'Slot', id: 'past', schedule: { reference: 'Schedule/sched-1' }, status: 'free', start: '2020-01-01T10:00:00Z', end: '2020-01-01T10:15:00Z' } as AnyResource);
  await h.storage.update(ctx, { resourceType: 'Slot', id: 'mistake', schedule: { reference: 'Schedule/sched-1' }, status: 'entered-in-error', start: '2030-03-04T11:00:00Z', end: '2030-03-04T11:15:00Z' } as AnyResource);
  const deepLink = [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link', valueUrl: 'https://book.example/slot-x' }];
  await h.storage.update(ctx, { resourceType: 'Slot', id: 'linked', schedule: { reference: 'Schedule/sched-1' }, status: 'busy', start: '2030-03-04T12:00:00Z', end: '2030-03-04T12:15:00Z', extension: deepLink } as AnyResource);
  // slot-capacity (SMART Scheduling Links): how many appointments the Slot stands for; published as stored, next to another extension.
  const capacity = [
    { url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity', valueInteger: 12 },
    { url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link', valueUrl: 'https://book.example/slot-y' },
  ];
  await h.storage.update(ctx, { resourceType: 'Slot', id: 'capacity', schedule: { reference: 'Schedule/sched-1' }, status: 'free', start: '2030-03-04T12:15:00Z', end: '2030-03-04T12:30:00Z', extension: capacity } as AnyResource);
  await h.storage.update(ctx, { resourceType: 'Appointment', id: 'appt', status: 'proposed', participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }] } as AnyResource);

  const token = await h.token({ scope: 'system/Slot.rs system/Schedule.rs system/Location.rs' });
  const manifest = await h.as(token, { url: '/fhir/$bulk-publish' });
  t.equal(manifest.statusCode, 200);
  const body = manifest.json() as Json;
  t.ok(Date.parse(body.transactionTime), 'transactionTime');
  t.same(body.output.map((o: Json) => o.type), ['Location', 'Schedule', 'Slot']);
  t.same(body.error, []);

  const file = async (type: string, query = '') => {
    const url = (body.output.find((o: Json) => o.type === type).url as string).replace(BASE_URL, '/fhir') + query;
    const response = await h.as(token, { url });
    t.match(response.headers['content-type'], /application\/fhir\+ndjson/);
    return ndjson(response.body);
  };
  t.same((await file('Location')).map((r) => r.id).sort(), ['building', 'room-1']);
  t.same((await file('Schedule')).map((r) => r.id), ['sched-1'], "a patient's Schedule is left out");
  const slots = await file('Slot');
  t.same(slots.map((r) => r.id).sort(), ['capacity', 'linked', 'slot-1-0900', 'slot-1-0915', 'slot-1-0930', 'slot-1-0945'], 'future, not entered-in-error, not of a patient');
  t.same(slots.find((r) => r.id === 'linked')?.extension, deepLink, 'extensions as given');
  t.same(slots.find((r) => r.id === 'capacity')?.extension, capacity, 'slot-capacity as given, in its order beside booking-deep-link');
  const everything = JSON.stringify([await file('Location'), await file('Schedule'), slots]);
  t.notMatch(everything, /Appointment|Patient\//, 'never an Appointment or a patient');

  const cut = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 5));
  await h.storage.update(systemContext(BASE_URL), { resourceType: 'Slot', id: 'slot-1-0900', schedule: { reference: 'Schedule/sched-1' }, status: 'busy-unavailable', start: '2030-03-04T09:00:00.000Z', end: '2030-03-04T09:15:00.000Z' } as AnyResource);
  const sinceManifest = (await h.as(token, { url: `/fhir/$bulk-publish?_since=${cut}` })).json() as Json;
  const sinceUrl = (sinceManifest.output.find((o: Json) => o.type === 'Slot').url as string).replace(BASE_URL, '/fhir');
  t.match(sinceUrl, /_since=/, 'the files carry _since');
  t.same(ndjson((await h.as(token, { url: sinceUrl })).body).map((r) => r.id), ['slot-1-0900'], '_since: only what changed');

  t.equal((await h.as(await h.token({ scope: 'system/Slot.rs' }), { url: '/fhir/$bulk-publish' })).statusCode, 403, 'needs Schedule and Location too');
  t.equal((await h.request({ method: 'GET', url: '/fhir/$bulk-publish' })).statusCode, 401, 'not public');
  t.equal((await h.as(token, { url: '/fhir/$bulk-publish?file=Appointment' })).statusCode, 400);
});

t.test('the manifest is a snapshot: writes after transactionTime do not reach its files', async (t) => {
  const h = await startSecureHarness();
  t.teardown(() => h.close());
  const ctx = systemContext(BASE_URL);
  for (const resource of clinicResources(1)) await h.storage.update(ctx, resource as AnyResource);
  const token = await h.token({ scope: 'system/Slot.rs system/Schedule.rs system/Location.rs' });
  const slotUrl = (manifest: Json) => (manifest.output.find((o: Json) => o.type === 'Slot').url as string).replace(BASE_URL, '/fhir');
  const slots = async (url: string) => ndjson((await h.as(token, { url })).body).map((r) => `${r.id}:${r.status}`);
  const before = (await h.as(token, { url: '/fhir/$bulk-publish' })).json() as Json;
  t.match(slotUrl(before), /transactionTime=/, 'the file URLs carry the snapshot instant');

  const slot = (id: string, status: string, hhmm: string) =>
    ({ resourceType: 'Slot', id, schedule: { reference: 'Schedule/sched-1' }, status, start: `2030-03-04T${hhmm}:00.000Z`, end: `2030-03-04T${hhmm.slice(0, 3)}59:00.000Z` }) as AnyResource;
  // Each write with its own clock reading, as each request has (the storage stamps lastUpdated with it).
  const later = () => systemContext(BASE_URL);
  await h.storage.update(later(), slot('slot-1-0900', 'busy-unavailable', '09:00'));
  await h.storage.update(later(), slot('slot-1-0930', 'entered-in-error', '09:30'));
  await h.storage.delete(later(), 'Slot', 'slot-1-0915');
  await h.storage.update(later(), slot('late', 'free', '10:00'));
  await h.storage.update(later(), { resourceType: 'Location', id: 'late-room', name: 'Late' } as AnyResource);

  const snapshot = ['slot-1-0900:free', 'slot-1-0915:free', 'slot-1-0930:free', 'slot-1-0945:free'];
  t.same(await slots(slotUrl(before)), snapshot, "the manifest's Slots as they stood at transactionTime");
  const locations = ndjson((await h.as(token, { url: (before.output[0].url as string).replace(BASE_URL, '/fhir') })).body).map((r) => r.id).sort();
  t.same(locations, ['building', 'room-1'], 'a Location created later is not in it');
  const after = (await h.as(token, { url: '/fhir/$bulk-publish' })).json() as Json;
  t.ok(after.transactionTime > before.transactionTime);
  t.same(await slots(slotUrl(after)), ['slot-1-0900:busy-unavailable', 'slot-1-0945:free', 'late:free'], 'a new manifest shows the writes');
  const since = (await h.as(token, { url: `/fhir/$bulk-publish?_since=${encodeURIComponent(before.transactionTime)}` })).json() as Json;
  t.same(await slots(slotUrl(since)), ['slot-1-0900:busy-unavailable', 'late:free'], '_since: what changed after the first snapshot');
  const sinceInOld = `${slotUrl(before)}&_since=${encodeURIComponent(before.transactionTime)}`;
  t.same(await slots(sinceInOld), [], 'nothing changed after the first snapshot as of the first snapshot');

  const future = new Date(Date.now() + 3_600_000).toISOString();
  t.equal((await h.as(token, { url: `/fhir/$bulk-publish?file=Slot&transactionTime=${encodeURIComponent(future)}` })).statusCode, 400, 'a future snapshot');
  t.equal((await h.as(token, { url: '/fhir/$bulk-publish?file=Slot&transactionTime=yesterday' })).statusCode, 400);
});
