/**
 * `Subscription/[id]/$get-ws-binding-token` (Subscriptions R5 Backport IG
 * 1.1.0, OperationDefinition-backport-subscription-get-ws-binding-token):
 * a token the client sends as `bind-with-token <token>` on the server's
 * WebSocket endpoint, to receive that subscription's notification Bundles
 * (src/subscriptions/websocket-channel.ts).
 *
 * The subscription is read with the caller's context, so anyone but its
 * owner and the operator gets the 404 a read would. A token binds only for
 * the subscription's owner (a connection receives only its owner's
 * notifications): the operator, who may read anyone's subscription, gets a
 * 403 for another owner's. A subscription whose channel is not websocket is
 * a 422. The id parameter of the type level is not offered: one token per
 * subscription, asked at its instance.
 */
import type { Subscription } from 'fhir/r4';
import { FhirError } from '../errors';
import type { Parameters } from '../fhir/types';
import { readResource } from '../interactions/read';
import { ownerKey, ownerKeyOf } from '../subscriptions/owner';
import { websocketUrl } from '../subscriptions/ws-binding';
import type { OperationDescriptor } from './descriptor';

export const subscriptionWsBindingTokenOperation: OperationDescriptor = {
  code: 'get-ws-binding-token',
  definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-get-ws-binding-token',
  resourceTypes: ['Subscription'],
  // It stores nothing: the token is signed, not kept (ws-binding.ts).
  affectsState: false,
  get: ['instance'],
  post: ['instance'],
  permissions: { instance: ['r'] },
  parameters: [],
  documentation: 'A token to bind this websocket subscription on the WebSocket endpoint (bind-with-token), for its owner; it expires (SUBSCRIPTION_WS_TOKEN_SECONDS).',
  handler: async (services, ctx, { id }) => {
    const record = await readResource(services, ctx, 'Subscription', id ?? '');
    const subscription = record.resource as unknown as Subscription;
    if (subscription.channel?.type !== 'websocket') {
      throw FhirError.of(422, 'business-rule', `Subscription/${id ?? ''} has channel type "${String(subscription.channel?.type)}": a binding token is for a websocket channel`, ['Subscription.channel.type']);
    }
    if (ownerKeyOf(record.resource!) !== ownerKey(ctx.principal)) {
      throw FhirError.of(403, 'forbidden', 'Only the subscription’s owner may bind to its notifications');
    }
    const tokens = services.wsBindings;
    if (!tokens) throw FhirError.of(501, 'not-supported', 'This server has no WebSocket endpoint');
    const { token, grant } = tokens.issue([id ?? ''], ownerKey(ctx.principal), ctx.now.getTime());
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'token', valueString: token },
        { name: 'expiration', valueDateTime: new Date(grant.expires).toISOString() },
        { name: 'subscription', valueString: `${ctx.baseUrl}/Subscription/${id ?? ''}` },
        { name: 'websocket-url', valueUrl: websocketUrl(ctx.baseUrl) },
      ],
    };
    return { body };
  },
};
