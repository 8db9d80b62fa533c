/**
 * Terminology sources built from FHIR resources (ValueSet and CodeSystem
 * resources stored on the server, or written by a test), and the layering
 * of sources: the official definitions first, then the server's own.
 */
import type { CodeSystem, ValueSet } from 'fhir/r4';
import { KnownCodeSystem } from './code-system';
import { withoutVersion, type TerminologySource, type ValueSetDefinition } from './value-set-expansion';

/**
 * The value sets and complete code systems among `resources`, by `url`.
 * When several share a url the first wins (callers list the most recently
 * updated first). A CodeSystem whose content is not `complete` lists only
 * some of its codes, so it is left out: expanding from it would lose codes.
 */
export function resourceTerminology(resources: ReadonlyArray<ValueSet | CodeSystem>): TerminologySource {
  const valueSets = new Map<string, ValueSetDefinition>();
  const codeSystems = new Map<string, KnownCodeSystem>();
  for (const resource of resources) {
    if (!resource.url) continue;
    const url = withoutVersion(resource.url);
    if (resource.resourceType === 'ValueSet' && !valueSets.has(url)) valueSets.set(url, resource);
    if (resource.resourceType === 'CodeSystem' && resource.content === 'complete' && !codeSystems.has(url)) {
      codeSystems.set(url, new KnownCodeSystem(url, resource));
    }
  }
  return { valueSet: (url) => valueSets.get(url), codeSystem: (url) => codeSystems.get(url) };
}

/** Asks each source in turn; the first that knows a URL answers. */
export function layeredTerminology(...sources: readonly TerminologySource[]): TerminologySource {
  return {
    valueSet: (url) => sources.reduce<ValueSetDefinition | undefined>((found, source) => found ?? source.valueSet(url), undefined),
    codeSystem: (url) => sources.reduce<KnownCodeSystem | undefined>((found, source) => found ?? source.codeSystem(url), undefined),
  };
}
