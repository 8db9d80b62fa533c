import type { Issue } from '../errors';
import { isResourceType, readConformanceArtefact } from '../fhir/definitions';
import type { VisitedNode } from './instance-walker';

/** Element path → the resource types its references may name (conformance/reference-targets.json). */
export type ReferenceTargets = ReadonlyMap<string, ReadonlySet<string>>;

export function loadReferenceTargets(): ReferenceTargets {
  const raw = readConformanceArtefact<Record<string, string[]>>('reference-targets.json');
  return new Map(Object.entries(raw).map(([path, types]) => [path, new Set(types)]));
}

/** `Type/id` or `Type/id/_history/vid`, relative or at the end of an absolute URL (R4 3.2.0.1 literal references). */
const LITERAL = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * A Reference names a resource of a type its element allows (the
 * targetProfile of ElementDefinition.type): Encounter.subject is a Patient
 * or a Group, never a Device. The type comes from Reference.type, from a
 * literal reference, or from the contained resource a `#id` names; a
 * reference whose type cannot be told (urn:uuid, logical) is not judged.
 */
export function referenceTargetIssuesAt(node: VisitedNode, targets: ReferenceTargets, issues: Issue[]): void {
  if (node.definitionKey !== 'Reference') return;
  const allowed = targets.get(node.elementPath);
  if (!allowed) return;
  const value = node.value as { reference?: unknown; type?: unknown };
  for (const [type, element] of [[typeOfLiteral(value.reference, node.rootResource), 'reference'], [value.type, 'type']] as const) {
    if (typeof type !== 'string' || !isResourceType(type) || allowed.has(type)) continue;
    const at = `${node.expression}.${element}`;
    issues.push({ severity: 'error', code: 'invalid', diagnostics: `${at}: a reference to ${type} is not allowed here (${[...allowed].join(', ')})`, expression: [at] });
  }
}

/** The resource type a reference names: of a literal `Type/id`, or of the contained resource `#id` names. */
export function typeOfLiteral(reference: unknown, rootResource: Record<string, unknown>): string | undefined {
  if (typeof reference !== 'string') return undefined;
  if (reference.startsWith('#')) {
    const contained = rootResource.contained;
    const found = Array.isArray(contained) ? contained.find((c) => (c as { id?: unknown } | null)?.id === reference.slice(1)) : undefined;
    return (found as { resourceType?: string } | undefined)?.resourceType;
  }
  if (reference.startsWith('urn:')) return undefined;
  return LITERAL.exec(reference)?.[1];
}
