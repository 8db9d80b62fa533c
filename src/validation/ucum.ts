import { UcumLhcUtils } from '@lhncbc/ucum-lhc';
import type { Issue } from '../errors';
import { childExpression } from './element-path';
import type { VisitedNode } from './instance-walker';

/**
 * A Quantity whose system is UCUM has a code in UCUM's grammar (R4 Quantity:
 * "the code SHALL be a valid UCUM unit" when the system is
 * http://unitsofmeasure.org). The grammar and the unit tables are those of
 * @lhncbc/ucum-lhc, the National Library of Medicine's implementation that
 * fhirpath.js uses for quantity arithmetic. `mcg` or `TAB`, common in data,
 * are not UCUM (`ug`, `{tbl}`).
 */
const UCUM = 'http://unitsofmeasure.org';

/** Verdicts per code: the set of units in a data set is small, and a parse costs a few microseconds. */
const verdicts = new Map<string, boolean>();
const MAX_REMEMBERED = 10_000;

export function isUcumCode(code: string): boolean {
  let valid = verdicts.get(code);
  if (valid === undefined) {
    // ucum-lhc trims its input; UCUM itself has no whitespace in a unit.
    valid = !/\s/.test(code) && UcumLhcUtils.getInstance().validateUnitString(code, false).status === 'valid';
    if (verdicts.size < MAX_REMEMBERED) verdicts.set(code, valid);
  }
  return valid;
}

/** Quantity and the R4 types that specialise it (SimpleQuantity and MoneyQuantity are profiles of Quantity). */
const QUANTITY_TYPES: ReadonlySet<string> = new Set(['Quantity', 'Age', 'Count', 'Distance', 'Duration']);

/** The issue of a Quantity node (Age, Duration... included) whose UCUM code is not UCUM. */
export function ucumIssuesAt(node: VisitedNode, issues: Issue[]): void {
  if (!QUANTITY_TYPES.has(node.definitionKey)) return;
  const { system, code } = node.value as { system?: unknown; code?: unknown };
  if (system !== UCUM || typeof code !== 'string' || isUcumCode(code)) return;
  const at = childExpression(node.expression, 'code');
  issues.push({ severity: 'error', code: 'code-invalid', diagnostics: `${at}: not a valid UCUM unit`, expression: [at] });
}
