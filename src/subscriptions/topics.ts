/**
 * The SubscriptionTopics Concord ships (conformance/subscription-topics.json,
 * in the R5 SubscriptionTopic shape the Backport IG publishes), and the
 * trigger rule of each: a resource trigger fires when the change's
 * interaction is one it supports and its `fhirPathCriteria` holds with
 * `%previous` (the replaced version) and `%current` (the new one)
 * (R5 subscriptiontopic.html#resourcetrigger). The canonical URLs are fixed
 * in the data file, never built from BASE_URL, so a subscriber's criteria
 * survive a move of the server.
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import { readConformanceArtefact } from '../fhir/definitions';
import type { AnyResource } from '../fhir/types';

export type TriggerInteraction = 'create' | 'update' | 'delete';

export interface TopicFilter {
  resource: string;
  filterParameter: string;
  description?: string;
  /** The SearchParameter the filter is evaluated with; absent for `resourceType` of `resource-changed`. */
  filterDefinition?: string;
}

export interface SubscriptionTopic {
  resourceType: 'SubscriptionTopic';
  id: string;
  url: string;
  version: string;
  title: string;
  status: string;
  description: string;
  resourceTrigger: Array<{
    description: string;
    /** A StructureDefinition URL: `.../Appointment`, or `.../Resource` for any type. */
    resource: string;
    supportedInteraction: TriggerInteraction[];
    queryCriteria?: { previous?: string; current?: string; requireBoth?: boolean };
    fhirPathCriteria?: string;
  }>;
  canFilterBy: TopicFilter[];
  notificationShape?: Array<{ resource: string }>;
}

/** The generic topic: any type, chosen by the `resourceType` filter. */
export const RESOURCE_CHANGED = 'resource-changed';

let loaded: readonly SubscriptionTopic[] | undefined;

export function topics(): readonly SubscriptionTopic[] {
  loaded ??= readConformanceArtefact<SubscriptionTopic[]>('subscription-topics.json');
  return loaded;
}

export function topicByUrl(url: string): SubscriptionTopic | undefined {
  return topics().find((topic) => topic.url === url);
}

/** The resource type of a StructureDefinition URL; `Resource` means any type. */
export function triggerType(topic: SubscriptionTopic): string {
  const resource = topic.resourceTrigger[0]?.resource ?? '';
  return resource.slice(resource.lastIndexOf('/') + 1);
}

/**
 * The search parameter code a filter is evaluated with: the code of its
 * SearchParameter (`ClaimResponse-requestor` → `requestor`: the provider a
 * ClaimResponse is for), else its own name.
 */
export function filterCode(filter: TopicFilter): string {
  const definition = filter.filterDefinition;
  if (!definition) return filter.filterParameter;
  const name = definition.slice(definition.lastIndexOf('/') + 1);
  return name.slice(name.indexOf('-') + 1);
}

const compiled = new Map<string, (previous: AnyResource | undefined, current: AnyResource | undefined) => boolean>();

function criteria(expression: string): (previous: AnyResource | undefined, current: AnyResource | undefined) => boolean {
  let run = compiled.get(expression);
  if (!run) {
    const evaluate = fhirpath.compile(expression, r4Model);
    // An absent version is the empty collection, as R5 says of %previous on a create.
    run = (previous, current) => (evaluate({}, { previous: previous ?? [], current: current ?? [] }) as unknown[]).includes(true);
    compiled.set(expression, run);
  }
  return run;
}

/** Whether this change of a resource of `resourceType` fires the topic. */
export function topicFires(
  topic: SubscriptionTopic,
  interaction: TriggerInteraction,
  resourceType: string,
  previous: AnyResource | undefined,
  current: AnyResource | undefined,
): boolean {
  return topic.resourceTrigger.some((trigger) => {
    const type = trigger.resource.slice(trigger.resource.lastIndexOf('/') + 1);
    if (type !== 'Resource' && type !== resourceType) return false;
    if (!trigger.supportedInteraction.includes(interaction)) return false;
    return trigger.fhirPathCriteria === undefined || criteria(trigger.fhirPathCriteria)(previous, current);
  });
}
