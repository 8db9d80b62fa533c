import { compile } from 'fhirpath';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import r4Model = require('fhirpath/fhir-context/r4');
import { type Deadline, LimitExceeded } from './limits';

type Compiled = (data: unknown, env?: Record<string, unknown>) => unknown[];

/** The step budget of the evaluation running now (fhirpath.js is synchronous, so there is at most one). */
interface Meter {
  steps: number;
  max: number;
  deadline: Deadline;
}

let running: Meter | undefined;

/**
 * fhirpath.js calls its `debugger` option after every evaluation step
 * (fhirpath.js Options): the one place a synchronous evaluation can be
 * stopped. The clock is read every 1,024 steps, which keeps the cost of the
 * meter small next to the step itself.
 */
function meterStep(): void {
  const meter = running;
  if (!meter) return;
  meter.steps += 1;
  if (meter.steps > meter.max) throw new LimitExceeded(`the expression took more than ${meter.max} evaluation steps`);
  if ((meter.steps & 1023) === 0) meter.deadline.check();
}

/** Compiled expressions of the forms seen, bounded so a stream of distinct forms cannot grow it without end. */
const compiled = new Map<string, Compiled>();
const MAX_COMPILED = 2_000;

function compiledOf(expression: string): Compiled {
  const known = compiled.get(expression);
  if (known) return known;
  const fn = compile(expression, r4Model, { debugger: meterStep }) as unknown as Compiled;
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(expression, fn);
  return fn;
}

/**
 * Evaluates a FHIRPath expression on `focus` with the form's variables
 * (`%patient`, `%encounter`, named variables...). Throws on a syntax error,
 * an evaluation error or a spent budget; the caller turns that into an
 * issue of the item.
 */
export function evaluate(expression: string, focus: unknown, variables: Readonly<Record<string, unknown>>, maxSteps: number, deadline: Deadline): unknown[] {
  deadline.check();
  const fn = compiledOf(expression);
  const outer = running;
  running = { steps: 0, max: maxSteps, deadline };
  try {
    return fn(focus ?? {}, { ...variables });
  } finally {
    running = outer;
  }
}
