/**
 * The topics in the Backport IG's R4 form: a SubscriptionTopic is an R5
 * resource, so R4 clients read it as a `Basic` whose code is
 * `SubscriptionTopic` and whose elements are cross-version extensions
 * (`http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.<element>`).
 * They are stored as ordinary Basic resources at start-up (ids
 * `subscriptiontopic-<code>`), so `GET /Basic?code=SubscriptionTopic` is an
 * ordinary search, under the same scopes and audit as any other.
 */
import type { Extension } from 'fhir/r4';
import { systemContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { Storage } from '../storage/port';
import { topics, type SubscriptionTopic } from './topics';

const CROSS_VERSION = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';

function extensionOf(element: string, value: Record<string, unknown>): Extension {
  return { url: `${CROSS_VERSION}.${element}`, ...value } as Extension;
}

/** A complex extension: one sub-extension per present field (relative urls, as cross-version complex extensions use). */
function complex(element: string, parts: Array<[string, Record<string, unknown>] | undefined>): Extension {
  return { url: `${CROSS_VERSION}.${element}`, extension: parts.filter((part) => part !== undefined).map(([url, value]) => ({ url, ...value }) as Extension) };
}

export function topicAsBasic(topic: SubscriptionTopic): AnyResource {
  return {
    resourceType: 'Basic',
    id: `subscriptiontopic-${topic.id}`,
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
    extension: [
      extensionOf('url', { valueUri: topic.url }),
      extensionOf('version', { valueString: topic.version }),
      extensionOf('title', { valueString: topic.title }),
      extensionOf('status', { valueCode: topic.status }),
      extensionOf('description', { valueMarkdown: topic.description }),
      ...topic.resourceTrigger.map((trigger) =>
        complex('resourceTrigger', [
          ['description', { valueMarkdown: trigger.description }],
          ['resource', { valueUri: trigger.resource }],
          ...trigger.supportedInteraction.map((code): [string, Record<string, unknown>] => ['supportedInteraction', { valueCode: code }]),
          trigger.queryCriteria?.previous ? ['queryCriteria.previous', { valueString: trigger.queryCriteria.previous }] : undefined,
          trigger.queryCriteria?.current ? ['queryCriteria.current', { valueString: trigger.queryCriteria.current }] : undefined,
          trigger.fhirPathCriteria ? ['fhirPathCriteria', { valueString: trigger.fhirPathCriteria }] : undefined,
        ]),
      ),
      ...topic.canFilterBy.map((filter) =>
        complex('canFilterBy', [
          ['resource', { valueUri: filter.resource }],
          ['filterParameter', { valueString: filter.filterParameter }],
          filter.description ? ['description', { valueMarkdown: filter.description }] : undefined,
          filter.filterDefinition ? ['filterDefinition', { valueUri: filter.filterDefinition }] : undefined,
        ]),
      ),
    ],
  } as AnyResource;
}

const withoutMeta = (resource: AnyResource | undefined) => {
  if (!resource) return undefined;
  const { meta: _meta, ...rest } = resource;
  return JSON.stringify(rest);
};

/** Stores each topic's Basic form, writing only those that changed (a restart adds no versions). */
export async function publishTopics(storage: Storage, baseUrl: string): Promise<void> {
  const ctx = systemContext(baseUrl, 'subscription-topics');
  for (const topic of topics()) {
    const basic = topicAsBasic(topic);
    const stored = await storage.read(ctx, 'Basic', basic.id ?? '');
    if (stored && !stored.deleted && withoutMeta(stored.resource) === withoutMeta(basic)) continue;
    await storage.update(ctx, basic);
  }
}
