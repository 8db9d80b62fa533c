import { xmlSchemaRegexToJs } from './xml-regex';
import type { ElementModel, PropertyDef, RequiredElement } from './element-model';

/**
 * The JSON Schema (draft-07, as ajv compiles it) of every type in the model.
 *
 * Standard keywords carry what JSON Schema expresses well: property types,
 * primitive regexes, arrays vs single values, no unknown properties, the
 * `resourceType` constant. Four FHIR-specific keywords, implemented by the
 * runtime (src/validation/schema-keywords.ts), carry the rest without the
 * error noise of `anyOf`/`oneOf` encodings:
 * - `fhirRequired`: elements with min >= 1, satisfied by the value, its `_`
 *   companion or any variant of a choice;
 * - `fhirChoice`: at most one variant of each choice element;
 * - `fhirResource`: a nested resource of any type (contained,
 *   Bundle.entry.resource, Parameters.parameter.resource), validated against
 *   the schema of its own `resourceType`;
 * - `fhirCalendar` (on date, dateTime and instant): the day exists in its
 *   month (the spec's regexes accept 2021-02-30).
 */
export const SCHEMA_ID = 'urn:concord:fhir-r4';

type JsonSchema = Record<string, unknown>;

/** Primitive types whose values start with a calendar date (YYYY-MM-DD when complete). */
const CALENDAR_TYPES = new Set(['date', 'dateTime', 'instant']);

export function buildJsonSchema(model: ElementModel, required: Record<string, RequiredElement[]>, resourceTypes: string[]): JsonSchema {
  const definitions: Record<string, JsonSchema> = {};
  for (const [name, p] of Object.entries(model.primitives)) {
    const value: JsonSchema = { type: p.json };
    if (p.regex) value.pattern = `^(?:${xmlSchemaRegexToJs(p.regex)})$`;
    if (p.minimum !== undefined) value.minimum = p.minimum;
    if (p.maximum !== undefined) value.maximum = p.maximum;
    if (CALENDAR_TYPES.has(name)) value.fhirCalendar = name;
    definitions[name] = value;
    definitions[nullable(name)] = { ...value, type: [p.json, 'null'] };
  }
  const resources = new Set(resourceTypes);
  for (const [key, props] of Object.entries(model.definitions)) {
    definitions[key] = objectSchema(key, props, required[key] ?? [], resources.has(key), model);
  }
  definitions[nullable('Element')] = { ...definitions.Element, type: ['object', 'null'] };
  return { $schema: 'http://json-schema.org/draft-07/schema#', $id: SCHEMA_ID, definitions };
}

function nullable(primitive: string): string {
  return `${primitive}-nullable`;
}

function objectSchema(key: string, props: Record<string, PropertyDef>, required: RequiredElement[], isResource: boolean, model: ElementModel): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  if (isResource) properties.resourceType = { const: key };
  for (const [name, p] of Object.entries(props)) properties[name] = propertySchema(p, model);

  const schema: JsonSchema = { type: 'object', additionalProperties: false, properties };
  // An element with no content is not allowed in FHIR JSON (ele-1, and "no empty objects").
  if (!isResource) schema.minProperties = 1;
  if (isResource) schema.required = ['resourceType'];
  if (required.length > 0) schema.fhirRequired = Object.fromEntries(required.map((r) => [r.element, r.names]));
  const choices = choiceGroups(props);
  if (Object.keys(choices).length > 0) schema.fhirChoice = choices;
  return schema;
}

function propertySchema(p: PropertyDef, model: ElementModel): JsonSchema {
  // In arrays of primitives, a value may be null when only its `_x` companion has content, and vice versa.
  const nullableItem = p.array && (p.type in model.primitives || p.type === 'Element');
  const item: JsonSchema = p.type === 'Resource' ? { fhirResource: true } : { $ref: `#/definitions/${nullableItem ? nullable(p.type) : p.type}` };
  if (!p.array) return item;
  return { type: 'array', minItems: 1, ...(p.maxItems ? { maxItems: p.maxItems } : {}), items: item };
}

/** Choice element → the JSON names of its values (`_` companions excluded). */
function choiceGroups(props: Record<string, PropertyDef>): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const [name, p] of Object.entries(props)) {
    if (p.choice && !name.startsWith('_')) (groups[p.choice] ??= []).push(name);
  }
  return groups;
}
