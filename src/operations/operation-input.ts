import type { Parameters, ParametersParameter } from 'fhir/r4';
import type { QueryPairs } from '../interactions/conditional';
import type { OperationDescriptor, OperationInvocation, OperationParameter } from './descriptor';
import { checkParameters } from './parameters';

/** `value[x]` of a parameter given in a URL (operations.html#request: only primitive parameters may be). */
function urlValue(parameter: OperationParameter, raw: string): ParametersParameter {
  switch (parameter.type) {
    case 'boolean':
      return raw === 'true' || raw === 'false' ? { name: parameter.name, valueBoolean: raw === 'true' } : { name: parameter.name, valueString: raw };
    case 'integer':
    case 'positiveInt':
      return /^-?\d+$/.test(raw) ? { name: parameter.name, valueInteger: Number(raw) } : { name: parameter.name, valueString: raw };
    case 'reference':
      return { name: parameter.name, valueReference: { reference: raw } };
    case 'code':
      return { name: parameter.name, valueCode: raw };
    case 'dateTime':
      return { name: parameter.name, valueDateTime: raw };
    case 'instant':
      return { name: parameter.name, valueInstant: raw };
    case 'uri':
      return { name: parameter.name, valueUri: raw };
    default:
      return { name: parameter.name, valueString: raw };
  }
}

/** The declared parameters a query string (or form) carries, as Parameters parts; undeclared keys stay in `query` only. */
export function parametersFromPairs(descriptor: OperationDescriptor, pairs: QueryPairs): Parameters {
  const declared = new Map(descriptor.parameters.map((parameter) => [parameter.name, parameter]));
  const parameter: ParametersParameter[] = [];
  for (const [key, value] of pairs) {
    const declaration = declared.get(key);
    if (declaration && declaration.type !== 'Resource') parameter.push(urlValue(declaration, value));
  }
  return { resourceType: 'Parameters', ...(parameter.length > 0 ? { parameter } : {}) };
}

const isParameters = (body: unknown): body is Parameters =>
  body !== null && typeof body === 'object' && !Array.isArray(body) && (body as { resourceType?: unknown }).resourceType === 'Parameters';

/**
 * An operation's input, however it was sent (operations.html#request): a
 * Parameters body as it is, another resource as `resource` (the operations
 * that take one, like `$validate`), and, when there is no body (a GET, or a
 * form POST whose fields joined the query), the declared parameters of the
 * query string as Parameters, checked against their declared types and
 * cardinalities as a Parameters body is (400 naming the parameter).
 */
export function invocationOf(
  descriptor: OperationDescriptor,
  params: Record<string, string | undefined>,
  query: QueryPairs,
  body: unknown,
  idempotencyKey?: string,
): OperationInvocation {
  const where = {
    ...(params.type !== undefined ? { resourceType: params.type } : {}),
    ...(params.id !== undefined ? { id: params.id } : {}),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
  };
  if (body === undefined) {
    const parameters = parametersFromPairs(descriptor, query);
    checkParameters(`$${descriptor.code}`, descriptor.parameters, parameters, 'url');
    return { ...where, parameters, query };
  }
  return { ...where, parameters: isParameters(body) ? body : { resourceType: 'Parameters' }, resource: body, query };
}
