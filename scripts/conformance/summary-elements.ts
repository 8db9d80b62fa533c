import type { CoreDefinitions } from './structure-definitions';
import { snapshotElements } from './structure-definitions';

/** What `_summary` and `_elements` keep of a resource type (read by src/search/subset.ts). */
export interface SummaryElements {
  /** Top-level elements marked `isSummary` in the base StructureDefinition (choice elements keep `[x]`). */
  summary: string[];
  /** Top-level elements with min >= 1: a subset must keep them to stay valid. */
  mandatory: string[];
}

export function buildSummaryElements(defs: CoreDefinitions, resourceTypes: string[]): Record<string, SummaryElements> {
  const result: Record<string, SummaryElements> = {};
  for (const type of resourceTypes) {
    const elements: SummaryElements = { summary: [], mandatory: [] };
    for (const element of snapshotElements(defs.resources.get(type)!)) {
      const parts = element.path.split('.');
      if (parts.length !== 2) continue;
      if (element.isSummary) elements.summary.push(parts[1]!);
      if ((element.min ?? 0) >= 1) elements.mandatory.push(parts[1]!);
    }
    result[type] = elements;
  }
  return result;
}
