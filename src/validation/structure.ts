import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { readConformanceArtefact, isResourceType } from '../fhir/definitions';
import { addFhirKeywords } from './schema-keywords';

/** Must match SCHEMA_ID in scripts/conformance/json-schema.ts. */
const SCHEMA_ID = 'urn:concord:fhir-r4';

/**
 * Structure and cardinality checks with ajv against the JSON Schema generated
 * from the StructureDefinitions. The schema is registered once; each resource
 * type's validator is compiled on first use and cached (compiled definitions
 * of shared data types are reused by ajv across resource types).
 */
export class StructureValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    this.ajv = new Ajv({
      allErrors: true,
      verbose: true,
      // The schema's union types (`["string","null"]` in primitive arrays) are intended.
      allowUnionTypes: true,
      // No format keyword or unknown keywords in the generated schema: strictness would only cost start-up time.
      strict: false,
      validateSchema: false,
      addUsedSchema: false,
      inlineRefs: false,
      code: { optimize: false },
    });
    addFhirKeywords(this.ajv, (resource) => this.errors(resource));
    this.ajv.addSchema(readConformanceArtefact<object>('fhir-schema.json'));
  }

  /** ajv errors for a resource of any type; a non-object or unknown type is one error at the root. */
  errors(resource: unknown): ErrorObject[] {
    if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
      return [rootError('type', 'a resource must be a JSON object')];
    }
    const type = (resource as { resourceType?: unknown }).resourceType;
    if (typeof type !== 'string') return [rootError('required', 'resourceType is missing or not a string', { missingProperty: 'resourceType' })];
    if (!isResourceType(type)) return [rootError('resourceType', `unknown resource type '${type}'`)];
    const validate = this.validatorFor(type);
    return validate(resource) ? [] : [...(validate.errors ?? [])];
  }

  /** Compiles the validator of `resourceType` now rather than on first use. */
  validatorFor(resourceType: string): ValidateFunction {
    let validate = this.compiled.get(resourceType);
    if (!validate) {
      validate = this.ajv.getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
      if (!validate) throw new Error(`no schema for ${resourceType}`);
      this.compiled.set(resourceType, validate);
    }
    return validate;
  }
}

function rootError(keyword: string, message: string, params: Record<string, unknown> = {}): ErrorObject {
  return { instancePath: '', schemaPath: '', keyword, params, message };
}
