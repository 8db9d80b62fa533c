import { childExpression } from './element-path';
import type { ElementModel, PropertyDef } from './element-model';

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
  visit({ value: resource, expression, elementPath: type, typeName: type, definitionKey: type, resource, rootResource });
  walkChildren({ model, resource, rootResource, visit }, resource, type, expression);
}

/** What stays the same while one resource (not its nested ones) is walked. */
interface Walk {
  model: ElementModel;
  resource: Record<string, unknown>;
  rootResource: Record<string, unknown>;
  visit: (node: VisitedNode) => void;
}

// Plain loops and no intermediate arrays or spreads: this runs for every complex node of every resource written.
function walkChildren(walk: Walk, node: Record<string, unknown>, definitionKey: string, expression: string): void {
  const props = walk.model.definitions[definitionKey];
  if (!props) return;
  for (const name in node) {
    const prop = props[name];
    if (!prop || prop.type in walk.model.primitives) continue;
    const value = node[name];
    if (!Array.isArray(value)) {
      walkItem(walk, prop, value, childExpression(expression, name));
      continue;
    }
    for (let i = 0; i < value.length; i++) walkItem(walk, prop, value[i], childExpression(expression, name, i));
  }
}

function walkItem(walk: Walk, prop: PropertyDef, item: unknown, expression: string): void {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
  const child = item as Record<string, unknown>;
  if (prop.type === 'Resource') {
    walkResource(walk.model, child, expression, walk.visit, walk.rootResource);
    return;
  }
  const { resource, rootResource } = walk;
  walk.visit({ value: child, expression, elementPath: prop.path, typeName: prop.profile ?? prop.type, definitionKey: prop.type, resource, rootResource });
  walkChildren(walk, child, prop.type, expression);
}
