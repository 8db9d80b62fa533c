/**
 * A Subscription resource read as what delivery needs, in either form:
 * R4 (criteria `Type?search`, R4 subscription.html) or the R5 Backport IG
 * 1.1.0 (criteria a SubscriptionTopic canonical, filters and channel
 * settings in the backport extensions). Bad input is a FhirError naming the
 * element: 400 for a search the parser refuses, 422 for the rest.
 */
import type { Extension, Subscription } from 'fhir/r4';
import { FhirError } from '../errors';
import { isResourceType } from '../fhir/definitions';
import { parseSearch } from '../search/parse';
import type { SearchQuery } from '../search/query';
import { RESOURCE_CHANGED, filterCode, topicByUrl, triggerType, type SubscriptionTopic } from './topics';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
export const EXT = {
  filterCriteria: `${BACKPORT}backport-filter-criteria`,
  payloadContent: `${BACKPORT}backport-payload-content`,
  heartbeatPeriod: `${BACKPORT}backport-heartbeat-period`,
  timeout: `${BACKPORT}backport-timeout`,
  maxCount: `${BACKPORT}backport-max-count`,
} as const;

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** One `Type?param=value` criterion, parsed and checked against the type's search parameters. */
export interface Criterion {
  resourceType: string;
  /** The query's pairs, as written. */
  pairs: Array<[string, string]>;
  query: SearchQuery;
}

export interface SubscriptionSpec {
  id: string;
  status: Subscription['status'];
  end?: string;
  form: 'r4' | 'backport';
  /** Backport: the topic. */
  topic?: SubscriptionTopic;
  /** R4: the criteria; backport: the filters (ANDed; per type for resource-changed). */
  criteria: Criterion[];
  /** The resource types whose changes can notify it. */
  types: string[];
  channel: { type: 'rest-hook' | 'websocket'; endpoint?: string; headers: string[] };
  content: PayloadContent;
  heartbeatSeconds?: number;
  /** backport-timeout: each rest-hook POST's time limit. */
  timeoutSeconds?: number;
  /** backport-max-count: at most this many events per notification (delivery sends one at a time). */
  maxCount?: number;
}

const unprocessable = (message: string, expression: string) => FhirError.of(422, 'invalid', message, [expression]);

/** `Type?a=b&c=d` as a criterion of `allowedType` (or any type when absent). */
export function parseCriterion(text: string, baseUrl: string, expression: string): Criterion {
  const question = text.indexOf('?');
  const resourceType = question < 0 ? text : text.slice(0, question);
  if (!isResourceType(resourceType)) throw unprocessable(`"${resourceType}" is not an R4 resource type`, expression);
  const pairs = [...new URLSearchParams(question < 0 ? '' : text.slice(question + 1)).entries()];
  for (const [name] of pairs) {
    if (/^_(count|sort|include|revinclude|summary|elements|total|format|pretty)$/.test(name.split(':')[0] ?? '')) {
      throw unprocessable(`"${name}" is a result parameter, not a criterion`, expression);
    }
  }
  // Strict: an unknown parameter is a 400 from the parser, never silently ignored (that would notify on everything).
  const { query } = parseSearch([resourceType], pairs, { strict: true, baseUrl });
  return { resourceType, pairs, query };
}

function extensionValue(extensions: Extension[] | undefined, url: string): Extension | undefined {
  return extensions?.find((extension) => extension.url === url);
}

/**
 * A channel setting of the Backport IG (backport-heartbeat-period and
 * backport-timeout are unsignedInt seconds, backport-max-count a
 * positiveInt). Absent is "not set"; present, it must be a whole number
 * above 0 in the value type the IG gives it: 0 seconds of heartbeat or
 * timeout means nothing a server can honour, and quietly dropping a bad
 * value would deliver on settings the client did not ask for.
 */
function channelSetting(extensions: Extension[] | undefined, url: string, valueType: 'valueUnsignedInt' | 'valuePositiveInt'): number | undefined {
  const extension = extensionValue(extensions, url);
  if (!extension) return undefined;
  const value = extension[valueType];
  const name = url.slice(BACKPORT.length);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw unprocessable(`${name} must be a ${valueType} of at least 1, got ${JSON.stringify(value ?? extension)}`, 'Subscription.channel.extension');
  }
  return value;
}

/** A backport filter must name one of the topic's filters (canFilterBy), on its type. */
function topicFilters(topic: SubscriptionTopic, texts: string[], baseUrl: string): Criterion[] {
  const expression = 'Subscription.criteria.extension';
  if (topic.id === RESOURCE_CHANGED) {
    return texts.map((text) => {
      const [prefix = '', query = ''] = text.split('?', 2);
      const pairs = [...new URLSearchParams(query).entries()];
      const type = pairs.find(([name]) => name === 'resourceType')?.[1] ?? prefix;
      const rest = new URLSearchParams(pairs.filter(([name]) => name !== 'resourceType')).toString();
      return parseCriterion(rest ? `${type}?${rest}` : type, baseUrl, expression);
    });
  }
  const type = triggerType(topic);
  return texts.map((text) => {
    const criterion = parseCriterion(text, baseUrl, expression);
    if (criterion.resourceType !== type) throw unprocessable(`The topic ${topic.url} filters ${type}, not ${criterion.resourceType}`, expression);
    const renamed = criterion.pairs.map(([name, value]): [string, string] => {
      const filter = topic.canFilterBy.find((candidate) => candidate.filterParameter === name.split(':')[0]);
      if (!filter) throw unprocessable(`The topic ${topic.url} cannot filter by "${name}" (canFilterBy: ${topic.canFilterBy.map((f) => f.filterParameter).join(', ')})`, expression);
      const modifier = name.includes(':') ? name.slice(name.indexOf(':')) : '';
      return [`${filterCode(filter)}${modifier}`, value];
    });
    return parseCriterion(`${type}?${new URLSearchParams(renamed).toString()}`, baseUrl, expression);
  });
}

/** resource-changed: the types the filters name, written `Type?...` or `Resource?resourceType=Type`. */
function resourceChangedTypes(criteria: Criterion[]): string[] {
  const types = criteria.map((criterion) => criterion.resourceType);
  if (types.length === 0) throw unprocessable(`The topic ${RESOURCE_CHANGED} needs a filter naming the resourceType`, 'Subscription.criteria.extension');
  return [...new Set(types)];
}

function channelOf(subscription: Subscription): SubscriptionSpec['channel'] {
  const type = subscription.channel?.type;
  if (type !== 'rest-hook' && type !== 'websocket') throw unprocessable(`channel.type must be rest-hook or websocket, got "${String(type)}"`, 'Subscription.channel.type');
  const endpoint = subscription.channel.endpoint;
  if (type === 'rest-hook' && !endpoint) throw unprocessable('A rest-hook channel needs an endpoint', 'Subscription.channel.endpoint');
  return { type, ...(endpoint ? { endpoint } : {}), headers: subscription.channel.header ?? [] };
}

/** Reads (and checks) a Subscription. */
export function subscriptionSpec(subscription: Subscription, baseUrl: string): SubscriptionSpec {
  const criteriaText = subscription.criteria ?? '';
  const channel = channelOf(subscription);
  const channelExtensions = subscription.channel?.extension;
  const common = {
    id: subscription.id ?? '',
    status: subscription.status,
    ...(subscription.end ? { end: subscription.end } : {}),
    channel,
  };
  const topic = topicByUrl(criteriaText);
  if (!topic) {
    if (/^https?:\/\//.test(criteriaText)) throw unprocessable(`"${criteriaText}" is not a SubscriptionTopic this server has`, 'Subscription.criteria');
    const payload = subscription.channel?.payload;
    if (payload !== undefined && payload !== 'application/fhir+json' && payload !== 'application/json') {
      throw unprocessable(`channel.payload must be absent or application/fhir+json, got "${payload}"`, 'Subscription.channel.payload');
    }
    const criterion = parseCriterion(criteriaText, baseUrl, 'Subscription.criteria');
    // An R4 websocket notification is a `ping <id>`, whatever the payload: it carries nothing (subscription.html#2.46.7.2).
    const content = payload && channel.type === 'rest-hook' ? 'full-resource' : 'empty';
    return { ...common, form: 'r4', criteria: [criterion], types: [criterion.resourceType], content };
  }
  const filterTexts = (subscription._criteria?.extension ?? [])
    .filter((extension) => extension.url === EXT.filterCriteria)
    .map((extension) => extension.valueString ?? '');
  const contentCode = extensionValue(subscription.channel?._payload?.extension, EXT.payloadContent)?.valueCode ?? 'id-only';
  if (contentCode !== 'empty' && contentCode !== 'id-only' && contentCode !== 'full-resource') {
    throw unprocessable(`backport-payload-content must be empty, id-only or full-resource, got "${contentCode}"`, 'Subscription.channel.payload.extension');
  }
  const criteria = topicFilters(topic, filterTexts, baseUrl);
  const types = topic.id === RESOURCE_CHANGED ? resourceChangedTypes(criteria) : [triggerType(topic)];
  const heartbeatSeconds = channelSetting(channelExtensions, EXT.heartbeatPeriod, 'valueUnsignedInt');
  const timeoutSeconds = channelSetting(channelExtensions, EXT.timeout, 'valueUnsignedInt');
  const maxCount = channelSetting(channelExtensions, EXT.maxCount, 'valuePositiveInt');
  return {
    ...common,
    form: 'backport',
    topic,
    criteria,
    types,
    content: contentCode,
    ...(heartbeatSeconds ? { heartbeatSeconds } : {}),
    ...(timeoutSeconds ? { timeoutSeconds } : {}),
    ...(maxCount ? { maxCount } : {}),
  };
}
