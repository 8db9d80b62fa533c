import { childExpression } from './element-path';

/** A value found in an instance at an element path, with its location. */
export interface SelectedNode {
  value: unknown;
  expression: string;
}

/**
 * The values at `path` (a StructureDefinition element path such as
 * `Consent.provision.period`) in `resource`, arrays flattened, in document
 * order. A `[x]` segment matches every variant of the choice (`valueString`...).
 */
export function selectNodes(resource: Record<string, unknown>, path: string): SelectedNode[] {
  const [root, ...segments] = path.split('.');
  let nodes: SelectedNode[] = [{ value: resource, expression: root! }];
  for (const segment of segments) nodes = nodes.flatMap((n) => children(n, segment));
  return nodes;
}

/** The values of one element of `parent` (all variants of a choice element). */
export function children(parent: SelectedNode, element: string): SelectedNode[] {
  const value = parent.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: SelectedNode[] = [];
  for (const name of matchingProperties(value as Record<string, unknown>, element)) {
    const child = (value as Record<string, unknown>)[name];
    if (Array.isArray(child)) child.forEach((item, i) => out.push({ value: item, expression: childExpression(parent.expression, name, i) }));
    else out.push({ value: child, expression: childExpression(parent.expression, name) });
  }
  return out;
}

function matchingProperties(node: Record<string, unknown>, element: string): string[] {
  if (!element.endsWith('[x]')) return element in node ? [element] : [];
  const prefix = element.slice(0, -3);
  return Object.keys(node).filter((k) => k.startsWith(prefix) && /^[A-Z]/.test(k.slice(prefix.length)));
}
