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
 * after that instant. Concord's choice (docs/scheduling.md): not public,
 * it needs read and search rights on Location, Schedule and Slot (a
 * `system/*.rs` class token), like any read; files are built when fetched.
 */
import type { Location, Schedule, Slot } from 'fhir/r4';
import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import type { Resource } from '../fhir/types';
import type { Services } from '../interactions/services';
import { localKey } from '../scheduling/appointment-state';
import { searchAll } from '../scheduling/queries';
import { authorize } from '../security/scopes/authorize';
import type { OperationAnswer, OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf } from './parameters';

const FILES = ['Location', 'Schedule', 'Slot'] as const;
type FileType = (typeof FILES)[number];

const PUBLISH_PARAMETERS: readonly OperationParameter[] = [
  { name: '_since', type: 'instant', min: 0, max: 1, documentation: 'Only resources changed after this instant' },
  { name: 'file', type: 'code', min: 0, max: 1, documentation: 'Location | Schedule | Slot: that NDJSON file; absent: the manifest' },
];

const mentionsPatient = (schedule: Schedule, baseUrl: string) => schedule.actor.some((actor) => localKey(actor.reference, baseUrl)?.type === 'Patient' || actor.reference?.includes('Patient/'));

async function publishedSchedules(services: Services, ctx: RequestContext, since: string | undefined): Promise<Schedule[]> {
  const records = await searchAll(services.storage, ctx, 'Schedule', since ? [['_lastUpdated', `gt${since}`]] : []);
  return records.map((record) => record.resource as unknown as Schedule).filter((schedule) => !mentionsPatient(schedule, ctx.baseUrl));
}

async function fileOf(services: Services, ctx: RequestContext, file: FileType, since: string | undefined): Promise<Resource[]> {
  const changed: Array<[string, string]> = since ? [['_lastUpdated', `gt${since}`]] : [];
  if (file === 'Location') return (await searchAll(services.storage, ctx, 'Location', changed)).map((record) => record.resource as unknown as Location as Resource);
  if (file === 'Schedule') return (await publishedSchedules(services, ctx, since)) as Resource[];
  const schedules = new Set((await publishedSchedules(services, ctx, undefined)).map((schedule) => `Schedule/${schedule.id!}`));
  const now = ctx.now.getTime();
  const slots = await searchAll(services.storage, ctx, 'Slot', [['status:not', 'entered-in-error'], ...changed, ['_sort', 'start']]);
  return slots
    .map((record) => record.resource as unknown as Slot)
    .filter((slot) => Date.parse(slot.end) > now && schedules.has(localKey(slot.schedule.reference, ctx.baseUrl)?.key ?? '')) as Resource[];
}

function manifest(ctx: RequestContext, since: string | undefined): Resource {
  const query = since ? `_since=${encodeURIComponent(since)}` : '';
  const url = (file: FileType) => `${ctx.baseUrl}/$bulk-publish?file=${file}${query ? `&${query}` : ''}`;
  return {
    transactionTime: ctx.now.toISOString(),
    request: `${ctx.baseUrl}/$bulk-publish${query ? `?${query}` : ''}`,
    output: FILES.map((type) => ({ type, url: url(type) })),
    error: [],
  } as unknown as Resource;
}

export async function bulkPublish(services: Services, ctx: RequestContext, parameters: unknown): Promise<OperationAnswer> {
  authorize(ctx.principal, [...FILES], ['r', 's']);
  const parts = checkParameters('$bulk-publish', PUBLISH_PARAMETERS, parameters);
  const sinceText = valueOf<string>(parts, '_since', 'valueInstant');
  const sinceTime = sinceText === undefined ? undefined : Date.parse(sinceText);
  if (sinceTime !== undefined && Number.isNaN(sinceTime)) throw badRequest('$bulk-publish: "_since" must be an instant', ['_since']);
  const since = sinceTime === undefined ? undefined : new Date(sinceTime).toISOString();
  const file = valueOf<string>(parts, 'file', 'valueCode');
  if (file === undefined) return { body: manifest(ctx, since) };
  if (!(FILES as readonly string[]).includes(file)) throw badRequest(`$bulk-publish: "file" must be one of ${FILES.join(', ')}`, ['file']);
  const resources = await fileOf(services, ctx, file as FileType, since);
  // In a bundle entry the file is a searchset; over HTTP, NDJSON.
  const body = { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) } as unknown as Resource;
  return { body, ndjson: resources };
}

export const bulkPublishOperation: OperationDescriptor = {
  code: 'bulk-publish',
  definition: 'http://hl7.org/fhir/smart-app-launch/scheduling/OperationDefinition/bulk-publish',
  documentation:
    'SMART Scheduling Links: a manifest of NDJSON files (file=Location|Schedule|Slot) of Locations, Schedules that name no Patient and their future Slots not entered-in-error; never Appointments. _since: only what changed after it. Needs read and search rights on Location, Schedule and Slot.',
  resourceTypes: '*',
  affectsState: false,
  get: ['system'],
  post: [],
  permissions: { system: ['r'] },
  parameters: PUBLISH_PARAMETERS,
  handler: async (services, ctx, { parameters }) => bulkPublish(services, ctx, parameters),
};
