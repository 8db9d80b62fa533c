import type Ajv from 'ajv';
import type { DataValidateFunction, SchemaValidateFunction, ErrorObject } from 'ajv/dist/types';
import { dayExistsInMonth } from './calendar';

/**
 * The FHIR-specific keywords of conformance/fhir-schema.json (documented in
 * scripts/conformance/json-schema.ts). Each reports one error per problem,
 * where `anyOf`/`oneOf` encodings would report a cascade.
 */

/** Validates a nested resource against the schema of its own type; returns its errors (instancePaths relative to it). */
export type NestedResourceValidator = (resource: unknown) => ErrorObject[];

export function addFhirKeywords(ajv: Ajv, validateNested: NestedResourceValidator): void {
  // Compiled once per schema location (ajv's `compile`), so that a node costs property lookups only.
  const required = (schema: Record<string, string[]>): DataValidateFunction => {
    const elements = Object.entries(schema);
    const validate: DataValidateFunction = (data, cxt) => {
      const node = data as Record<string, unknown>;
      let errors: ErrorObject[] | undefined;
      for (const [element, names] of elements) {
        if (names.some((n) => node[n] !== undefined)) continue;
        (errors ??= []).push(error(cxt?.instancePath ?? '', 'fhirRequired', { element }, `missing required element ${element}`));
      }
      validate.errors = errors;
      return errors === undefined;
    };
    return validate;
  };

  const choice = (schema: Record<string, string[]>): DataValidateFunction => {
    // Each variant with its `_x` companion: either one present makes the variant present.
    const elements = Object.entries(schema).map(([element, names]) => ({ element, variants: names.map((n) => [n, `_${n}`] as const) }));
    const validate: DataValidateFunction = (data, cxt) => {
      const node = data as Record<string, unknown>;
      let errors: ErrorObject[] | undefined;
      for (const { element, variants } of elements) {
        let present: string[] | undefined;
        for (const [name, companion] of variants) if (node[name] !== undefined || node[companion] !== undefined) (present ??= []).push(name);
        if (present && present.length > 1) {
          (errors ??= []).push(error(cxt?.instancePath ?? '', 'fhirChoice', { element, present }, `only one of ${element} may be present`));
        }
      }
      validate.errors = errors;
      return errors === undefined;
    };
    return validate;
  };

  const nested: SchemaValidateFunction = function fhirResource(_schema: unknown, data: unknown, _parent, cxt) {
    const prefix = cxt?.instancePath ?? '';
    // Nested errors are wrapped: ajv overwrites schemaPath and data of errors returned by a keyword.
    const errors = validateNested(data).map((e) =>
      error(prefix + e.instancePath, 'fhirResource', { error: e, resourceType: resourceTypeOf(data) }, e.message ?? ''),
    );
    nested.errors = errors;
    return errors.length === 0;
  };

  const calendar: SchemaValidateFunction = function fhirCalendar(type: string, data: string, _parent, cxt) {
    if (dayExistsInMonth(data)) return true;
    calendar.errors = [error(cxt?.instancePath ?? '', 'fhirCalendar', { type }, 'not a calendar date')];
    return false;
  };

  ajv.addKeyword({ keyword: 'fhirRequired', type: 'object', schemaType: 'object', errors: true, compile: required });
  ajv.addKeyword({ keyword: 'fhirChoice', type: 'object', schemaType: 'object', errors: true, compile: choice });
  ajv.addKeyword({ keyword: 'fhirCalendar', type: 'string', schemaType: 'string', errors: true, validate: calendar });
  ajv.addKeyword({ keyword: 'fhirResource', schemaType: 'boolean', errors: true, validate: nested });
}

function resourceTypeOf(data: unknown): string | undefined {
  const type = (data as { resourceType?: unknown } | null)?.resourceType;
  return typeof type === 'string' ? type : undefined;
}

function error(instancePath: string, keyword: string, params: Record<string, unknown>, message: string): ErrorObject {
  return { instancePath, schemaPath: '', keyword, params, message };
}
