import { childExpression } from './element-path';
import type { ElementModel } from './element-model';

/** One node of an instance, with what the definitions say about it. */
export interface VisitedNode {
  value: unknown;
  /** Location for issues, e.g. `Patient.contact[0]`. */
  expression: string;
  /** The element path in the definitions, e.g. `Patient.contact` (a type name at a resource root). */
  elementPath: string;
  /** The type whose invariants apply (a profile of the type where the element names one). */
  typeName: string;
  /** The key of the node's properties in the element model (a profile's base type, not the profile). */
  definitionKey: string;
  /** The resource that contains this node most closely (`%resource`). */
  resource: Record<string, unknown>;
  /** The outermost resource, container of contained resources (`%rootResource`). */
  rootResource: Record<string, unknown>;
}

/**
 * Visits every complex node of a resource depth-first (nested resources
 * included), in document order, so that results are deterministic. Primitive
 * values are not visited: no invariant is defined on a primitive type in R4
 * other than ele-1, which the schema enforces.
 */
export function walkResource(
  model: ElementModel,
  resource: Record<string, unknown>,
  expression: string,
  visit: (node: VisitedNode) => void,
  rootResource = resource,
): void {
  const type = String(resource.resourceType);
  if (!model.definitions[type]) return;
  const context = { resource, rootResource };
  visit({ value: resource, expression, elementPath: type, typeName: type, definitionKey: type, ...context });
  walkChildren(model, resource, type, expression, context, visit);
}

interface ResourceContext {
  resource: Record<string, unknown>;
  rootResource: Record<string, unknown>;
}

function walkChildren(
  model: ElementModel,
  node: Record<string, unknown>,
  definitionKey: string,
  expression: string,
  context: ResourceContext,
  visit: (node: VisitedNode) => void,
): void {
  const props = model.definitions[definitionKey];
  if (!props) return;
  for (const [name, value] of Object.entries(node)) {
    const prop = props[name];
    if (!prop || prop.type in model.primitives) continue;
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
      const child = item as Record<string, unknown>;
      const childExpr = childExpression(expression, name, Array.isArray(value) ? i : undefined);
      if (prop.type === 'Resource') {
        walkResource(model, child, childExpr, visit, context.rootResource);
        return;
      }
      visit({ value: child, expression: childExpr, elementPath: prop.path, typeName: prop.profile ?? prop.type, definitionKey: prop.type, ...context });
      walkChildren(model, child, prop.type, childExpr, context, visit);
    });
  }
}
