/**
 * `GET /$bulk-publish` (SMART Scheduling Links STU1): open appointment
 * slots for patient apps and referral networks, as a manifest
 * `{transactionTime, request, output: [{type, url}], error: []}` whose
 * output names three NDJSON files, answered by this same operation with
 * `file=Location|Schedule|Slot`:
 * - every Location;
 * - every Schedule that names no Patient (a patient's Schedule is patient data);
 * - every Slot of those Schedules whose status is not entered-in-error and
 *   whose end is still ahead, with its extensions as stored
 *   (booking-deep-link, slot-capacity...).
 * Never an Appointment, nothing about a patient. `_since` keeps what changed
 * after that instant. The manifest is a snapshot: `transactionTime` is its
 * instant, its file URLs carry it, and each file shows the resources as
 * they stood then (src/scheduling/snapshot.ts), whenever it is fetched.
 * Concord's choice (docs/scheduling.md): not public, it needs read and
 * search rights on Location, Schedule and Slot (a `system/*.rs` class
 * token), like any read.
 */
import type { Schedule, Slot } from 'fhir/r4';
import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import type { Resource } from '../fhir/types';
import type { Services } from '../interactions/services';
import { localKey } from '../scheduling/appointment-state';
import { resourcesAsOf } from '../scheduling/snapshot';
import { authorize } from '../security/scopes/authorize';
import type { OperationAnswer, OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf, type ParameterParts } from './parameters';

const FILES = ['Location', 'Schedule', 'Slot'] as const;
type FileType = (typeof FILES)[number];

const PUBLISH_PARAMETERS: readonly OperationParameter[] = [
  { name: '_since', type: 'instant', min: 0, max: 1, documentation: 'Only resources changed after this instant' },
  { name: 'file', type: 'code', min: 0, max: 1, documentation: 'Location | Schedule | Slot: that NDJSON file; absent: the manifest' },
  { name: 'transactionTime', type: 'instant', min: 0, max: 1, documentation: "The manifest's snapshot instant (its file URLs carry it): the file as it stood then; absent: now" },
];

const mentionsPatient = (schedule: Schedule, baseUrl: string) => schedule.actor.some((actor) => localKey(actor.reference, baseUrl)?.type === 'Patient' || actor.reference?.includes('Patient/'));

/** What a file publishes, judged on each resource as it stood at the snapshot's instant. */
interface Snapshot {
  /** transactionTime: the instant the files reflect. */
  at: string;
  since?: string;
}

async function publishedSchedules(services: Services, ctx: RequestContext, snapshot: Snapshot): Promise<Schedule[]> {
  const schedules = (await resourcesAsOf(services.storage, ctx, 'Schedule', snapshot.at, snapshot.since)) as unknown as Schedule[];
  return schedules.filter((schedule) => !mentionsPatient(schedule, ctx.baseUrl));
}

/** Slots of published Schedules, not entered-in-error, ending after the snapshot's instant; by start. */
async function publishedSlots(services: Services, ctx: RequestContext, snapshot: Snapshot): Promise<Slot[]> {
  const schedules = new Set((await publishedSchedules(services, ctx, { at: snapshot.at })).map((schedule) => `Schedule/${schedule.id!}`));
  const at = Date.parse(snapshot.at);
  const slots = (await resourcesAsOf(services.storage, ctx, 'Slot', snapshot.at, snapshot.since)) as unknown as Slot[];
  return slots
    .filter((slot) => slot.status !== 'entered-in-error' && Date.parse(slot.end) > at && schedules.has(localKey(slot.schedule.reference, ctx.baseUrl)?.key ?? ''))
    .sort((a, b) => Date.parse(a.start) - Date.parse(b.start) || (a.id! < b.id! ? -1 : 1));
}

async function fileOf(services: Services, ctx: RequestContext, file: FileType, snapshot: Snapshot): Promise<Resource[]> {
  if (file === 'Location') return (await resourcesAsOf(services.storage, ctx, 'Location', snapshot.at, snapshot.since)) as unknown as Resource[];
  if (file === 'Schedule') return (await publishedSchedules(services, ctx, snapshot)) as Resource[];
  return (await publishedSlots(services, ctx, snapshot)) as Resource[];
}

function manifest(ctx: RequestContext, snapshot: Snapshot): Resource {
  const since = snapshot.since ? `&_since=${encodeURIComponent(snapshot.since)}` : '';
  const url = (file: FileType) => `${ctx.baseUrl}/$bulk-publish?file=${file}&transactionTime=${encodeURIComponent(snapshot.at)}${since}`;
  return {
    transactionTime: snapshot.at,
    request: `${ctx.baseUrl}/$bulk-publish${snapshot.since ? `?_since=${encodeURIComponent(snapshot.since)}` : ''}`,
    output: FILES.map((type) => ({ type, url: url(type) })),
    error: [],
  } as unknown as Resource;
}

/**
 * "Now" as a snapshot instant: once the clock has passed it, every write
 * that commits later is stamped after it, so the files built for it never
 * show that write (as the Bulk Data export does, src/export/service.ts).
 */
async function snapshotInstant(): Promise<string> {
  const instant = new Date().toISOString();
  while (new Date().toISOString() <= instant) await new Promise((resolve) => setTimeout(resolve, 1));
  return instant;
}

function instantParameter(parts: ParameterParts, name: string): string | undefined {
  const text = valueOf<string>(parts, name, 'valueInstant');
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw badRequest(`$bulk-publish: "${name}" must be an instant`, [name]);
  return new Date(time).toISOString();
}

export async function bulkPublish(services: Services, ctx: RequestContext, parameters: unknown): Promise<OperationAnswer> {
  authorize(ctx.principal, [...FILES], ['r', 's']);
  const parts = checkParameters('$bulk-publish', PUBLISH_PARAMETERS, parameters);
  const since = instantParameter(parts, '_since');
  const given = instantParameter(parts, 'transactionTime');
  // A snapshot of the future would still change: refused.
  if (given !== undefined && given > new Date().toISOString()) throw badRequest('$bulk-publish: "transactionTime" is in the future', ['transactionTime']);
  const snapshot: Snapshot = { at: given ?? (await snapshotInstant()), ...(since !== undefined && { since }) };
  const file = valueOf<string>(parts, 'file', 'valueCode');
  if (file === undefined) return { body: manifest(ctx, snapshot) };
  if (!(FILES as readonly string[]).includes(file)) throw badRequest(`$bulk-publish: "file" must be one of ${FILES.join(', ')}`, ['file']);
  const resources = await fileOf(services, ctx, file as FileType, snapshot);
  // In a bundle entry the file is a collection; over HTTP, NDJSON.
  const body = { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) } as unknown as Resource;
  return { body, ndjson: resources };
}

export const bulkPublishOperation: OperationDescriptor = {
  code: 'bulk-publish',
  definition: 'http://hl7.org/fhir/smart-app-launch/scheduling/OperationDefinition/bulk-publish',
  documentation:
    'SMART Scheduling Links: a manifest of NDJSON files (file=Location|Schedule|Slot) of Locations, Schedules that name no Patient and their future Slots not entered-in-error; never Appointments. _since: only what changed after it. A snapshot: the file URLs carry transactionTime, and each file shows the resources as they stood then. Needs read and search rights on Location, Schedule and Slot.',
  resourceTypes: '*',
  affectsState: false,
  get: ['system'],
  post: [],
  permissions: { system: ['r'] },
  parameters: PUBLISH_PARAMETERS,
  handler: async (services, ctx, { parameters }) => bulkPublish(services, ctx, parameters),
};
