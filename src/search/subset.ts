/**
 * `_summary` and `_elements` (http://hl7.org/fhir/R4/search.html#summary,
 * #elements): the top-level elements a search returns of each matched
 * resource. A subsetted resource is marked with the SUBSETTED tag, as the
 * spec asks, so that nobody mistakes it for the whole resource (and, say,
 * PUTs it back).
 */
import { readConformanceArtefact } from '../fhir/definitions';
import type { AnyResource, Meta } from '../fhir/types';
import type { SummaryMode } from './query';

interface SummaryElements {
  /** Top-level elements marked isSummary; a choice element keeps its `[x]`. */
  summary: string[];
  /** Top-level elements with min >= 1. */
  mandatory: string[];
}

let summaryElements: Record<string, SummaryElements> | undefined;
function elementsOf(resourceType: string): SummaryElements {
  summaryElements ??= readConformanceArtefact<Record<string, SummaryElements>>('summary-elements.json');
  return summaryElements[resourceType] ?? { summary: [], mandatory: [] };
}

export const SUBSETTED_TAG = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'Resource encoded in summary mode',
} as const;

/** Always kept: without them the result is not a resource, nor findable again. */
const ALWAYS = ['resourceType', 'id', 'meta'];

/** Whether JSON key `key` is the element `name` (a choice `value[x]` is `valueQuantity`...; `_given` carries `given`'s extensions). */
function isElement(key: string, name: string): boolean {
  const bare = key.startsWith('_') ? key.slice(1) : key;
  if (!name.endsWith('[x]')) return bare === name;
  const stem = name.slice(0, -3);
  return bare.length > stem.length && bare.startsWith(stem) && /[A-Z]/.test(bare[stem.length]!);
}

function keep(resource: AnyResource, names: readonly string[]): AnyResource {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (ALWAYS.includes(key) || names.some((name) => isElement(key, name))) kept[key] = value;
  }
  return markSubsetted(kept as AnyResource);
}

function markSubsetted(resource: AnyResource): AnyResource {
  const meta: Meta = { ...(resource.meta ?? {}) };
  const tags = meta.tag ?? [];
  if (!tags.some((tag) => tag.system === SUBSETTED_TAG.system && tag.code === SUBSETTED_TAG.code)) meta.tag = [...tags, { ...SUBSETTED_TAG }];
  return { ...resource, meta };
}

/**
 * The resource as `_summary` asks: `true` its summary elements, `text` its
 * narrative with the mandatory elements, `data` everything but the narrative;
 * `false` (and `count`, which returns no resource) leave it whole.
 */
export function applySummary(resource: AnyResource, mode: SummaryMode): AnyResource {
  const { summary, mandatory } = elementsOf(resource.resourceType);
  switch (mode) {
    case 'true':
      return keep(resource, [...summary, ...mandatory]);
    case 'text':
      return keep(resource, ['text', ...mandatory]);
    case 'data': {
      const { text: _narrative, ...rest } = resource;
      return markSubsetted(rest as AnyResource);
    }
    default:
      return resource;
  }
}

/**
 * `_elements=name,birthDate`: those top-level elements plus the mandatory
 * ones (the spec: "servers SHOULD always return mandatory elements").
 * `Patient.name` names an element of one type; it is ignored for the others.
 */
export function applyElements(resource: AnyResource, elements: readonly string[]): AnyResource {
  const names = elements.flatMap((element) => {
    const dot = element.indexOf('.');
    const name = dot < 0 ? element : element.slice(0, dot) === resource.resourceType ? element.slice(dot + 1) : undefined;
    // `value` names the choice element value[x] (valueQuantity, valueString...) as well.
    return name === undefined ? [] : name.endsWith('[x]') ? [name] : [name, `${name}[x]`];
  });
  return keep(resource, [...names, ...elementsOf(resource.resourceType).mandatory]);
}

/** Both, as a search's `_summary` and `_elements` ask (undefined: untouched). */
export function subsetResource(resource: AnyResource, summary: SummaryMode | undefined, elements: readonly string[] | undefined): AnyResource {
  let result = summary ? applySummary(resource, summary) : resource;
  if (elements && elements.length > 0) result = applyElements(result, elements);
  return result;
}
