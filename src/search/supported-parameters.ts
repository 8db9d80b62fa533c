/**
 * Which search parameters this server really answers, for the
 * CapabilityStatement (and anything else that must not promise more than
 * the parser and the indexer do).
 */
import { AUDIT_LOG_PARAMETERS, AUDIT_LOG_TYPE } from './audit-log-search';
import { defaultParamSource, type SearchParamDef, type SearchParamSource } from './param-source';

/**
 * A parameter is supported when the indexer can compute it (it has a
 * FHIRPath expression: `_text`, `_content`, `_query` and two extension
 * parameters have none) and the parser accepts its type (`special`, i.e.
 * `near`, needs geometry and is refused).
 */
export function isSupportedParameter(def: SearchParamDef): boolean {
  return def.type !== 'special' && def.expression !== undefined;
}

export function supportedParameters(resourceType: string, source: SearchParamSource = defaultParamSource): SearchParamDef[] {
  const all = source.searchParameters(resourceType).filter(isSupportedParameter);
  // The access log is searched by its own short list (audit-log-search.ts).
  return resourceType === AUDIT_LOG_TYPE ? all.filter((def) => def.code in AUDIT_LOG_PARAMETERS) : all;
}

/** `_include` values on `resourceType`: `Type:param` for each of its reference parameters, and the wildcard. */
export function includeValues(resourceType: string, source: SearchParamSource = defaultParamSource): string[] {
  if (resourceType === AUDIT_LOG_TYPE) return [];
  const own = supportedParameters(resourceType, source)
    .filter((def) => def.type === 'reference')
    .map((def) => `${resourceType}:${def.code}`);
  return [...own, '*'];
}

/** Source type → its supported reference parameters, computed once per parameter source. */
const referencesBySource = new WeakMap<SearchParamSource, Array<{ sourceType: string; def: SearchParamDef }>>();

function allReferences(source: SearchParamSource): Array<{ sourceType: string; def: SearchParamDef }> {
  let all = referencesBySource.get(source);
  if (!all) {
    all = source.resourceTypes().flatMap((sourceType) =>
      supportedParameters(sourceType, source)
        .filter((def) => def.type === 'reference')
        .map((def) => ({ sourceType, def })),
    );
    referencesBySource.set(source, all);
  }
  return all;
}

/**
 * `_revinclude` values that can bring resources pointing at `resourceType`:
 * `Source:param` for every reference parameter that may target it (one with
 * no declared target may point anywhere).
 */
export function revincludeValues(resourceType: string, source: SearchParamSource = defaultParamSource): string[] {
  return allReferences(source)
    .filter(({ sourceType }) => sourceType !== AUDIT_LOG_TYPE)
    .filter(({ def }) => def.target === undefined || def.target.includes(resourceType))
    .map(({ sourceType, def }) => `${sourceType}:${def.code}`);
}
