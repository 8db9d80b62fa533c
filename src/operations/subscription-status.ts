/**
 * `Subscription/[id]/$status` (Subscriptions R5 Backport IG 1.1.0,
 * OperationDefinition-backport-subscription-status): a `searchset` Bundle
 * holding the subscription's status Parameters (type `query-status`): its
 * status, the number of events since it started, its error. The
 * subscription is read with the caller's context, so only its owner and the
 * operator get an answer; anyone else gets the 404 a read would.
 */
import type { Subscription } from 'fhir/r4';
import type { RequestContext } from '../context';
import type { Bundle } from '../fhir/types';
import { readResource } from '../interactions/read';
import type { Services } from '../interactions/services';
import { searchsetOfStatus, type StatusFacts } from '../subscriptions/notification';
import { lastEventNumber } from '../subscriptions/outbox';
import { subscriptionSpec } from '../subscriptions/subscription-spec';
import type { OperationDescriptor } from './descriptor';

/** The subscription as the caller may see it, and the facts of its status. */
export async function subscriptionStatus(services: Services, ctx: RequestContext, id: string, type: StatusFacts['type']): Promise<StatusFacts> {
  const record = await readResource(services, ctx, 'Subscription', id);
  const subscription = record.resource as unknown as Subscription;
  return {
    spec: subscriptionSpec(subscription, ctx.baseUrl),
    type,
    status: subscription.status,
    eventsSinceStart: await lastEventNumber(services.storage, ctx.baseUrl, id),
    ...(subscription.error ? { error: subscription.error } : {}),
  };
}

export const subscriptionStatusOperation: OperationDescriptor = {
  code: 'status',
  definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status',
  resourceTypes: ['Subscription'],
  affectsState: false,
  get: ['instance'],
  post: ['instance'],
  permissions: { instance: ['r'] },
  parameters: [],
  documentation: 'The status of the subscription: status, events since it started, error (the owner and the operator only).',
  handler: async (services, ctx, { id }) => {
    const facts = await subscriptionStatus(services, ctx, id ?? '', 'query-status');
    const body: Bundle = searchsetOfStatus(ctx.baseUrl, facts, [], facts.spec.content) as Bundle;
    return { body };
  },
};
