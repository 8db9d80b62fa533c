/**
 * The official value sets and complete code systems of FHIR R4, from
 * conformance/terminology.json (scripts/build-terminology.ts), read on first
 * use: only searches with `:in`, `:not-in`, `:above` or `:below` pay for it.
 */
import { readConformanceArtefact } from '../fhir/definitions';
import { KnownCodeSystem, type CodeSystemDefinition } from './code-system';
import type { TerminologySource, ValueSetDefinition } from './value-set-expansion';

/** The shape of conformance/terminology.json: FHIR fragments keyed by canonical URL. */
export interface TerminologyArtefact {
  valueSets: Record<string, ValueSetDefinition>;
  codeSystems: Record<string, CodeSystemDefinition>;
}

let artefact: TerminologyArtefact | undefined;
const codeSystems = new Map<string, KnownCodeSystem>();

function loaded(): TerminologyArtefact {
  return (artefact ??= readConformanceArtefact<TerminologyArtefact>('terminology.json'));
}

export const conformanceTerminology: TerminologySource = {
  valueSet: (url) => (Object.hasOwn(loaded().valueSets, url) ? loaded().valueSets[url] : undefined),
  codeSystem(url) {
    const cached = codeSystems.get(url);
    if (cached || !Object.hasOwn(loaded().codeSystems, url)) return cached;
    const known = new KnownCodeSystem(url, loaded().codeSystems[url]!);
    codeSystems.set(url, known);
    return known;
  },
};
