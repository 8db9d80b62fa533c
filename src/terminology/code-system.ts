/**
 * A code system the server knows completely (an official one from
 * conformance/terminology.json, or a CodeSystem resource stored on the
 * server with `content = complete`): its codes and, for subsumption
 * (token `:above`, `:below`, value set filters `is-a`), its hierarchy.
 *
 * The hierarchy is read from nested `concept`s and from the standard
 * `parent` / `subsumedBy` concept properties. A code may sit under several
 * parents (v3 ActCode nests AMB under two abstract codes). Nesting means
 * subsumption when `hierarchyMeaning` is `is-a` or absent (most FHIR code
 * systems are flat and leave it out); other meanings (`grouped-by`,
 * `part-of`, `classified-with`) are not subsumption, so such a system
 * answers no subsumption question.
 */
import type { CodeSystem, CodeSystemConcept } from 'fhir/r4';

/** The parts of a CodeSystem read here (the conformance artefact keeps only these). */
export type CodeSystemDefinition = Pick<CodeSystem, 'concept' | 'hierarchyMeaning'>;

const PARENT_PROPERTIES = new Set(['parent', 'subsumedBy']);

export class KnownCodeSystem {
  private readonly parents = new Map<string, Set<string>>();
  private readonly children = new Map<string, Set<string>>();
  /** Whether the hierarchy is an is-a hierarchy (see the header). */
  readonly subsumption: boolean;

  constructor(
    readonly url: string,
    definition: CodeSystemDefinition,
  ) {
    this.subsumption = definition.hierarchyMeaning === undefined || definition.hierarchyMeaning === 'is-a';
    this.addConcepts(definition.concept ?? [], undefined);
  }

  private addConcepts(concepts: readonly CodeSystemConcept[], parent: string | undefined): void {
    for (const concept of concepts) {
      if (!this.parents.has(concept.code)) this.parents.set(concept.code, new Set());
      if (parent !== undefined) this.link(parent, concept.code);
      for (const property of concept.property ?? []) {
        if (PARENT_PROPERTIES.has(property.code) && property.valueCode !== undefined) this.link(property.valueCode, concept.code);
      }
      this.addConcepts(concept.concept ?? [], concept.code);
    }
  }

  private link(parent: string, child: string): void {
    this.parents.get(child)?.add(parent) ?? this.parents.set(child, new Set([parent]));
    this.children.get(parent)?.add(child) ?? this.children.set(parent, new Set([child]));
  }

  has(code: string): boolean {
    return this.parents.has(code);
  }

  /** Every code of the system, in definition order. */
  codes(): string[] {
    return [...this.parents.keys()];
  }

  /** `code` and every code it subsumes (`is-a` in ValueSet filters, token `:below`). */
  selfAndDescendants(code: string): string[] {
    return closure(code, this.children);
  }

  /** `code` and every code that subsumes it (token `:above`). */
  selfAndAncestors(code: string): string[] {
    return closure(code, this.parents);
  }
}

/** `start` and everything reachable through `edges` (cycles in a broken definition are walked once). */
function closure(start: string, edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const seen = new Set([start]);
  const pending = [start];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    for (const other of edges.get(next) ?? []) {
      if (!seen.has(other)) {
        seen.add(other);
        pending.push(other);
      }
    }
  }
  return [...seen];
}
