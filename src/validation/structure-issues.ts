import type { ErrorObject } from 'ajv';
import type { Issue, IssueCode } from '../errors';
import { elementName, pointerToExpression } from './element-path';

/**
 * Translates ajv errors into one Issue per problem, located with a
 * FHIRPath-ish expression. Errors of nested resources arrive wrapped by the
 * `fhirResource` keyword and are unwrapped here, keeping the full location.
 * Diagnostics never quote the offending value: it may be patient data, and
 * diagnostics end up in logs.
 */
export function structureIssues(rootType: string, errors: ErrorObject[]): Issue[] {
  return errors.map((e) => toIssue(rootType, unwrap(e)));
}

/** The innermost error, with the full instancePath of the outermost. */
function unwrap(e: ErrorObject): ErrorObject {
  let inner = e;
  while (inner.keyword === 'fhirResource' && isErrorObject(inner.params.error)) inner = inner.params.error;
  return inner === e ? e : { ...inner, instancePath: e.instancePath };
}

function isErrorObject(value: unknown): value is ErrorObject {
  return typeof value === 'object' && value !== null && 'keyword' in value && 'instancePath' in value;
}

function toIssue(rootType: string, e: ErrorObject): Issue {
  const at = pointerToExpression(rootType, e.instancePath);
  const issue = (code: IssueCode, diagnostics: string, expression = at): Issue => ({
    severity: 'error',
    code,
    diagnostics,
    expression: [expression],
  });
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'fhirRequired': {
      const element = `${at}.${elementName(String(p.element))}`;
      return issue('required', `${element}: minimum required = 1, but only found 0`, element);
    }
    case 'fhirChoice':
      return issue('structure', `${at}: only one of ${String(p.element)} may be present, found ${(p.present as string[]).join(', ')}`);
    case 'additionalProperties': {
      const property = `${at}.${String(p.additionalProperty)}`;
      return issue('structure', `${property}: unknown element`, property);
    }
    case 'pattern':
      return issue('value', `${at}: not a valid ${primitiveType(e) ?? 'value'}`);
    case 'fhirCalendar':
      return issue('value', `${at}: not a valid ${String(p.type)} (no such day in that month)`);
    case 'minimum':
    case 'maximum':
      return issue('value', `${at}: out of range for ${primitiveType(e) ?? 'this element'}`);
    case 'type':
      return issue('structure', `${at}: expected ${expectedType(e)}, found ${jsonType(e.data)}`);
    case 'minItems':
      return issue('structure', `${at}: arrays must not be empty`);
    case 'maxItems':
      return issue('structure', `${at}: at most ${String(p.limit)} items allowed`);
    case 'minProperties':
      return issue('structure', `${at}: an element must have a value or children`);
    case 'const':
      return issue('invalid', `${at}: expected '${String(p.allowedValue)}'`);
    case 'required':
      return issue('required', `${at}.${String(p.missingProperty)}: minimum required = 1, but only found 0`, `${at}.${String(p.missingProperty)}`);
    case 'resourceType':
      return issue('not-supported', `${at}: ${e.message ?? 'unknown resource type'}`);
    default:
      return issue('structure', `${at}: ${e.message ?? e.keyword}`);
  }
}

/** `#/definitions/date/pattern` → `date`: the schema's definitions are named after FHIR types. */
function primitiveType(e: ErrorObject): string | undefined {
  return /definitions\/([A-Za-z]+)(?:-nullable)?\//.exec(e.schemaPath)?.[1];
}

function expectedType(e: ErrorObject): string {
  const type = (e.params as { type?: unknown }).type;
  const json = Array.isArray(type) ? type.filter((t) => t !== 'null').join(' or ') : String(type);
  const fhirType = primitiveType(e);
  return fhirType ? `${json} (${fhirType})` : json;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
