import type {
  Bundle,
  BundleEntry,
  Coding,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
  Reference,
  Resource,
} from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import { EXT, extensionsOf } from './sdc';

/**
 * SDC `$extract` (http://hl7.org/fhir/uv/sdc/STU3/extraction.html): the
 * resources a completed QuestionnaireResponse yields, as a transaction Bundle
 * that the caller posts (the operation stores nothing).
 *
 * - Observation-based: every answered item marked `observationExtract` (on
 *   itself or an ancestor) and carrying a `code` becomes an Observation.
 * - Definition-based: a group with `itemExtractionContext` naming a resource
 *   type (`valueCode`) becomes one new resource of that type per repetition,
 *   its children's answers placed at their `definition` paths.
 * - Items whose `definition` is an element of the subject's own type, outside
 *   such a group, update the subject: one PATCH that keeps every value the
 *   subject has and adds the answered ones.
 *
 * Every created resource carries an identifier derived from the response,
 * the item's linkId and the repetition's indices, and its entry is a
 * conditional create on it (`ifNoneExist`). R4's Provenance has no
 * identifier, so its entry is conditional on its source instead (`entity` =
 * the response): posting the same extraction twice creates nothing new.
 */

/** The system of the identifiers extraction derives (docs/forms.md). */
export const EXTRACTED_SYSTEM = 'http://concord.example/fhir/sid/extracted';
/** Fixed values for definition-based extraction (SDC's definitionExtractValue: `definition` + `fixed-value`). */
export const DEFINITION_EXTRACT_VALUE = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-definitionExtractValue';

export interface ExtractRequest {
  questionnaire: Questionnaire;
  response: QuestionnaireResponse & { id: string };
  /** The subject as stored now (for the PATCH that adds to it); undefined when it cannot be read. */
  subject?: Resource;
  /** The element that names the patient on a resource type (`AllergyIntolerance` → `patient`, `Condition` → `subject`). */
  patientElementOf(type: string): string | undefined;
}

type Json = Record<string, unknown>;

/** One answered item, with where it sits: its questionnaire item, its ancestors and the repetition indices on the way. */
interface Answered {
  item: QuestionnaireItem;
  answers: QuestionnaireResponseItemAnswer[];
  ancestors: QuestionnaireItem[];
  /** Index of the repetition of each repeating group on the way, and of the answer: part of the derived identifier. */
  path: number[];
}

const isTrue = (item: QuestionnaireItem): boolean => extensionsOf(item, EXT.observationExtract).some((extension) => extension.valueBoolean === true);

/** The identifier of what `linkId` at repetition `path` of this response yields. */
const derivedIdentifier = (responseId: string, linkId: string, path: readonly number[]) => ({ system: EXTRACTED_SYSTEM, value: [responseId, linkId, ...path].join('/') });

const conditionalCreate = (resource: Json, identifier: { system: string; value: string }): BundleEntry => ({
  fullUrl: `urn:uuid:${randomUUID()}`,
  resource: resource as unknown as Resource,
  request: { method: 'POST', url: String(resource.resourceType), ifNoneExist: `identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}` },
});

/** Pairs each response item with its questionnaire item, depth first. */
function walk(questionnaireItems: readonly QuestionnaireItem[], responseItems: readonly QuestionnaireResponseItem[], ancestors: QuestionnaireItem[], path: number[], out: Answered[], groups: Array<{ item: QuestionnaireItem; response: QuestionnaireResponseItem; path: number[] }>): void {
  const seen = new Map<string, number>();
  for (const responseItem of responseItems) {
    const item = questionnaireItems.find((candidate) => candidate.linkId === responseItem.linkId);
    if (!item) continue;
    const repetition = seen.get(item.linkId) ?? 0;
    seen.set(item.linkId, repetition + 1);
    const here = item.repeats ? [...path, repetition] : path;
    if (item.type === 'group') groups.push({ item, response: responseItem, path: here });
    if ((responseItem.answer?.length ?? 0) > 0) out.push({ item, answers: responseItem.answer ?? [], ancestors, path: here });
    walk(item.item ?? [], responseItem.item ?? [], [...ancestors, item], here, out, groups);
    for (const answer of responseItem.answer ?? []) walk(item.item ?? [], answer.item ?? [], [...ancestors, item], here, out, groups);
  }
}

/** An answer as an Observation's value[x] (SDC extraction.html#observation-based). */
function observationValue(answer: QuestionnaireResponseItemAnswer): Json | undefined {
  if (answer.valueQuantity) return { valueQuantity: answer.valueQuantity };
  if (answer.valueDecimal !== undefined) return { valueQuantity: { value: answer.valueDecimal } };
  if (answer.valueInteger !== undefined) return { valueInteger: answer.valueInteger };
  if (answer.valueBoolean !== undefined) return { valueBoolean: answer.valueBoolean };
  if (answer.valueString !== undefined) return { valueString: answer.valueString };
  if (answer.valueCoding) return { valueCodeableConcept: { coding: [answer.valueCoding] } };
  if (answer.valueDate !== undefined) return { valueDateTime: answer.valueDate };
  if (answer.valueDateTime !== undefined) return { valueDateTime: answer.valueDateTime };
  if (answer.valueTime !== undefined) return { valueTime: answer.valueTime };
  return undefined;
}

function observations(request: ExtractRequest, answered: readonly Answered[]): Array<{ entry: BundleEntry; reference: string }> {
  const { response } = request;
  const out: Array<{ entry: BundleEntry; reference: string }> = [];
  for (const { item, answers, ancestors, path } of answered) {
    if (!(isTrue(item) || ancestors.some(isTrue)) || (item.code?.length ?? 0) === 0) continue;
    answers.forEach((answer, index) => {
      const value = observationValue(answer);
      if (!value) return;
      const identifier = derivedIdentifier(response.id, item.linkId, [...path, index]);
      const observation: Json = {
        resourceType: 'Observation',
        identifier: [identifier],
        status: 'final',
        code: { coding: item.code as Coding[], ...(item.text ? { text: item.text } : {}) },
        ...(response.subject ? { subject: response.subject } : {}),
        ...(response.encounter ? { encounter: response.encounter } : {}),
        ...(response.authored ? { effectiveDateTime: response.authored } : {}),
        ...(response.author ? { performer: [response.author] } : {}),
        derivedFrom: [{ reference: `QuestionnaireResponse/${response.id}` }],
        ...value,
      };
      const entry = conditionalCreate(observation, identifier);
      out.push({ entry, reference: entry.fullUrl ?? '' });
    });
  }
  return out;
}

/** `http://.../StructureDefinition/Patient#Patient.telecom.value` → `{ type: 'Patient', path: ['telecom', 'value'] }`. */
function definitionPath(definition: string | undefined): { type: string; path: string[] } | undefined {
  const element = definition?.split('#')[1];
  if (!element) return undefined;
  const [type, ...path] = element.split('.');
  return type && path.length > 0 ? { type, path } : undefined;
}

/** The first answer's value, whatever its type (a definition-based element takes the answer as it is). */
function answerValue(answer: QuestionnaireResponseItemAnswer | undefined): unknown {
  if (!answer) return undefined;
  const key = Object.keys(answer).find((name) => name.startsWith('value'));
  return key === undefined ? undefined : (answer as Json)[key];
}

/**
 * Sets `path` on `target`: each step is an object, the first element of an
 * array when the element repeats (`telecom`, `name`, `code.coding`...).
 */
function setPath(target: Json, path: readonly string[], value: unknown, repeating: (name: string) => boolean): void {
  let node = target;
  path.forEach((name, i) => {
    const last = i === path.length - 1;
    if (last) {
      node[name] = value;
      return;
    }
    if (repeating(name)) {
      const list = (node[name] as Json[] | undefined) ?? [];
      if (list.length === 0) list.push({});
      node[name] = list;
      node = list[0] as Json;
    } else {
      node[name] = (node[name] as Json | undefined) ?? {};
      node = node[name] as Json;
    }
  });
}

/** Elements that repeat in R4 among those definition-based forms usually name. */
const REPEATING = new Set(['telecom', 'name', 'address', 'identifier', 'coding', 'given', 'line', 'reaction', 'manifestation', 'note', 'category', 'dosage', 'contact']);
const repeats = (name: string) => REPEATING.has(name);

function fixedValues(item: QuestionnaireItem): Array<{ path: string[]; value: unknown }> {
  return extensionsOf(item, DEFINITION_EXTRACT_VALUE).flatMap((extension) => {
    const definition = definitionPath(extension.extension?.find((part) => part.url === 'definition')?.valueCanonical);
    const fixed = extension.extension?.find((part) => part.url === 'fixed-value');
    const key = fixed ? Object.keys(fixed).find((name) => name.startsWith('value')) : undefined;
    return definition && fixed && key ? [{ path: definition.path, value: (fixed as unknown as Json)[key] }] : [];
  });
}

/** Groups with `itemExtractionContext` naming a type: one new resource per repetition. */
function definitionResources(request: ExtractRequest, groups: ReadonlyArray<{ item: QuestionnaireItem; response: QuestionnaireResponseItem; path: number[] }>): Array<{ entry: BundleEntry; reference: string }> {
  const out: Array<{ entry: BundleEntry; reference: string }> = [];
  for (const { item, response, path } of groups) {
    const type = extensionsOf(item, EXT.itemExtractionContext)[0]?.valueCode;
    if (!type) continue;
    const resource: Json = { resourceType: type };
    for (const fixed of fixedValues(item)) setPath(resource, fixed.path, fixed.value, repeats);
    let answeredAny = false;
    const children: Answered[] = [];
    walk(item.item ?? [], response.item ?? [], [item], path, children, []);
    for (const child of children) {
      const target = definitionPath(child.item.definition);
      const value = answerValue(child.answers[0]);
      if (!target || target.type !== type || value === undefined) continue;
      for (const fixed of fixedValues(child.item)) setPath(resource, fixed.path, fixed.value, repeats);
      setPath(resource, target.path, value, repeats);
      answeredAny = true;
    }
    if (!answeredAny) continue;
    const patientElement = request.patientElementOf(type);
    if (patientElement && request.response.subject) resource[patientElement] = request.response.subject;
    const identifier = derivedIdentifier(request.response.id, item.linkId, path);
    resource.identifier = [identifier];
    const entry = conditionalCreate(resource, identifier);
    out.push({ entry, reference: entry.fullUrl ?? '' });
  }
  return out;
}

/**
 * The subject's own elements (definition on the subject's type, outside an
 * extraction group): one JSON Patch that replaces each touched array with
 * what the subject has now plus the answered values not already there. It
 * removes nothing, and applying it twice gives the same subject.
 */
function subjectPatch(request: ExtractRequest, answered: readonly Answered[]): BundleEntry | undefined {
  const subject = request.subject as Json | undefined;
  if (!subject) return undefined;
  const type = String(subject.resourceType);
  const additions = new Map<string, Json[]>();
  for (const { item, answers, ancestors } of answered) {
    if (ancestors.some((ancestor) => extensionsOf(ancestor, EXT.itemExtractionContext).length > 0)) continue;
    const target = definitionPath(item.definition);
    const value = answerValue(answers[0]);
    if (!target || target.type !== type || value === undefined || target.path.length < 2) continue;
    const [top = '', ...rest] = target.path;
    const element: Json = {};
    for (const fixed of fixedValues(item)) if (fixed.path[0] === top) setPath(element, fixed.path.slice(1), fixed.value, repeats);
    setPath(element, rest, value, repeats);
    additions.set(top, [...(additions.get(top) ?? []), element]);
  }
  const operations: Json[] = [];
  for (const [top, added] of additions) {
    const current = (subject[top] as Json[] | undefined) ?? [];
    const fresh = added.filter((candidate) => !current.some((existing) => JSON.stringify(existing) === JSON.stringify(candidate) || sameValue(existing, candidate)));
    if (fresh.length === 0) continue;
    operations.push({ op: current.length === 0 ? 'add' : 'replace', path: `/${top}`, value: [...current, ...fresh] });
  }
  if (operations.length === 0) return undefined;
  return {
    resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(operations)).toString('base64') } as Resource,
    request: { method: 'PATCH', url: `${type}/${String(subject.id)}` },
  };
}

/** A ContactPoint or similar already holding the answered `value` counts as present. */
const sameValue = (existing: Json, candidate: Json): boolean => candidate.value !== undefined && existing.value === candidate.value && (candidate.system === undefined || existing.system === candidate.system);

export function extract(request: ExtractRequest): Bundle {
  const answered: Answered[] = [];
  const groups: Array<{ item: QuestionnaireItem; response: QuestionnaireResponseItem; path: number[] }> = [];
  walk(request.questionnaire.item ?? [], request.response.item ?? [], [], [], answered, groups);
  const created = [...observations(request, answered), ...definitionResources(request, groups)];
  const patch = subjectPatch(request, answered);
  const entries: BundleEntry[] = created.map((c) => c.entry);
  if (patch) entries.push(patch);
  const targets: Reference[] = [...created.map((c) => ({ reference: c.reference })), ...(patch ? [{ reference: patch.request?.url ?? '' }] : [])];
  if (targets.length > 0) {
    const provenance: Json = {
      resourceType: 'Provenance',
      target: targets,
      // Provenance.recorded is an instant; a response authored on a date only is recorded as of the extraction.
      recorded: /T.*(Z|[+-]\d{2}:\d{2})$/.test(request.response.authored ?? '') ? request.response.authored : new Date().toISOString(),
      agent: [{ who: request.response.author ?? request.response.subject ?? { display: 'unknown' } }],
      entity: [{ role: 'source', what: { reference: `QuestionnaireResponse/${request.response.id}` } }],
    };
    entries.push({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: provenance as unknown as Resource,
      request: { method: 'POST', url: 'Provenance', ifNoneExist: `entity=${encodeURIComponent(`QuestionnaireResponse/${request.response.id}`)}` },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
