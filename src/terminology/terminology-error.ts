import type { IssueCode } from '../errors';

/**
 * A value set or code system question the server cannot answer (unknown,
 * external, filter-based, too large). Terminology knows nothing of HTTP:
 * the search parser turns it into a 400 naming the parameter.
 */
export class TerminologyError extends Error {
  constructor(
    readonly code: IssueCode,
    message: string,
  ) {
    super(message);
    this.name = 'TerminologyError';
  }
}
