/**
 * `Subscription/[id]/$events?eventsSinceNumber=&eventsUntilNumber=&content=`
 * (Subscriptions R5 Backport IG 1.1.0, OperationDefinition-backport-subscription-events):
 * replays past events, so that a client that saw a gap in the event numbers
 * catches up. The events are the outbox's (every event is kept,
 * src/subscriptions/outbox.ts); their focus is read with the caller's
 * context, as a read would be now, so a version the caller may no longer
 * see is withheld (the event still listed, without its focus). At most
 * MAX_EVENTS events per call: a client pages with eventsSinceNumber.
 */
import { badRequest } from '../errors';
import type { Bundle } from '../fhir/types';
import type { Parameters } from 'fhir/r4';
import { eventAsSeenBy } from '../subscriptions/delivery-access';
import type { NotifiedEvent } from '../subscriptions/notification';
import { readEvent } from '../subscriptions/outbox';
import type { PayloadContent } from '../subscriptions/subscription-spec';
import { searchsetOfStatus } from '../subscriptions/notification';
import type { OperationDescriptor } from './descriptor';
import { subscriptionStatus } from './subscription-status';

export const MAX_EVENTS = 1000;

const CONTENTS: readonly PayloadContent[] = ['empty', 'id-only', 'full-resource'];

function numberParameter(parameters: Parameters, name: string): number | undefined {
  const part = parameters.parameter?.find((candidate) => candidate.name === name);
  if (!part) return undefined;
  const raw = part.valueString ?? part.valueInteger;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw badRequest(`${name} must be a positive whole number, got "${String(raw)}"`, [name]);
  return value;
}

export const subscriptionEventsOperation: OperationDescriptor = {
  code: 'events',
  definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events',
  resourceTypes: ['Subscription'],
  affectsState: false,
  get: ['instance'],
  post: ['instance'],
  permissions: { instance: ['r'] },
  parameters: [
    { name: 'eventsSinceNumber', type: 'string', min: 0, max: 1, documentation: 'The first event number to replay (default 1)' },
    { name: 'eventsUntilNumber', type: 'string', min: 0, max: 1, documentation: 'The last event number to replay (default: the last event)' },
    { name: 'content', type: 'code', min: 0, max: 1, documentation: 'empty | id-only | full-resource (default: the subscription’s)' },
  ],
  documentation: `Replays past events (every event is kept; at most ${MAX_EVENTS} per call).`,
  handler: async (services, ctx, { id, parameters }) => {
    const facts = await subscriptionStatus(services, ctx, id ?? '', 'query-event');
    const content = parameters.parameter?.find((part) => part.name === 'content')?.valueCode ?? facts.spec.content;
    if (!(CONTENTS as readonly string[]).includes(content)) throw badRequest(`content must be one of ${CONTENTS.join(', ')}, got "${content}"`, ['content']);
    const since = numberParameter(parameters, 'eventsSinceNumber') ?? 1;
    const until = Math.min(numberParameter(parameters, 'eventsUntilNumber') ?? facts.eventsSinceStart, facts.eventsSinceStart, since + MAX_EVENTS - 1);
    const events: NotifiedEvent[] = [];
    for (let number = since; number <= until; number += 1) {
      const event = await readEvent(services.storage, ctx.baseUrl, id ?? '', number);
      if (!event) continue;
      // The caller's context: its scopes and the patient's Consents as they stand now.
      events.push(await eventAsSeenBy(services.storage, ctx, event));
    }
    const body: Bundle = searchsetOfStatus(ctx.baseUrl, facts, events, content as PayloadContent) as Bundle;
    return { body };
  },
};
