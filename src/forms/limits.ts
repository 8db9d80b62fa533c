/**
 * The bounds of one population (documented in docs/forms.md): fhirpath.js
 * evaluates synchronously, so every expression is given a step budget, and
 * the whole population a deadline, checked between steps. A form that needs
 * more is answered with an `issues` entry, never a stalled server.
 */
export interface FormLimits {
  /** Resources read per x-fhir-query (its `_count`; later pages are not read). */
  readonly maxResourcesPerQuery: number;
  /** FHIRPath evaluation steps per expression. */
  readonly maxStepsPerExpression: number;
  /** Wall-clock budget of one `$populate`, in milliseconds. */
  readonly deadlineMs: number;
}

export const DEFAULT_FORM_LIMITS: FormLimits = {
  maxResourcesPerQuery: 100,
  maxStepsPerExpression: 20_000,
  deadlineMs: 1_000,
};

/** Thrown when a budget runs out; reported as an issue of the item being populated. */
export class LimitExceeded extends Error {}

/** One population's clock: `check()` throws once the deadline has passed. */
export class Deadline {
  private readonly end: number;

  constructor(deadlineMs: number, private readonly clock: () => number = Date.now) {
    this.end = clock() + deadlineMs;
  }

  check(): void {
    if (this.clock() > this.end) throw new LimitExceeded('the population took longer than its time limit');
  }
}
