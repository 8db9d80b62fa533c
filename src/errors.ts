import type { OperationOutcome, OperationOutcomeIssue } from './fhir/types';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

/** One problem, in the vocabulary of OperationOutcome.issue. */
export interface Issue {
  severity: IssueSeverity;
  code: IssueCode;
  diagnostics: string;
  /** FHIRPath-style locations, e.g. `Patient.birthDate`. */
  expression?: string[];
}

/**
 * An error that is the client's business: it carries the HTTP status and the
 * issues that become the OperationOutcome body. Anything else thrown is a bug
 * and is answered 500 without details.
 */
export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly issues: Issue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(issues.map((i) => i.diagnostics).join('; '));
    this.name = 'FhirError';
  }

  static of(status: number, code: IssueCode, diagnostics: string, expression?: string[]): FhirError {
    return new FhirError(status, [{ severity: 'error', code, diagnostics, expression }]);
  }
}

export const badRequest = (msg: string, expression?: string[]) => FhirError.of(400, 'invalid', msg, expression);
export const notFound = (msg: string) => FhirError.of(404, 'not-found', msg);
export const gone = (msg: string) => FhirError.of(410, 'deleted', msg);
export const conflict = (msg: string) => FhirError.of(409, 'conflict', msg);
export const preconditionFailed = (msg: string) => FhirError.of(412, 'conflict', msg);
export const unprocessable = (issues: Issue[]) => new FhirError(422, issues);

export function operationOutcome(issues: Issue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity,
      code: i.code,
      diagnostics: i.diagnostics,
      ...(i.expression && i.expression.length > 0 ? { expression: i.expression } : {}),
    })),
  };
}
