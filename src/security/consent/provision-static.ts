/**
 * The conditions of a provision that depend only on the request (actor,
 * action, purpose, the clock, the resource type), never on the resource's
 * content: decision.ts evaluates them, and compile.ts folds them to
 * constants, with the same functions.
 */
import type { ConsentProvision, Period } from 'fhir/r4';
import { normalizeReference } from '../../search/reference';
import { dateEntries } from '../../search/extract';
import { MAX_INSTANT, MIN_INSTANT } from '../../search/date-range';
import { codingsName, conceptsName } from './coded';
import type { EvaluationEnv } from './evaluation-env';
import { ACT_REASON_SYSTEM, CONSENT_ACTION_SYSTEM, READ_ACTIONS, RESOURCE_TYPES_SYSTEM, WRITE_ACTIONS } from './vocabulary';

export function localReference(text: string | undefined, baseUrl: string): string | undefined {
  return text === undefined ? undefined : normalizeReference(text, baseUrl).ref;
}

function actorMatches(provision: ConsentProvision, env: EvaluationEnv): boolean {
  if (!provision.actor?.length) return true;
  return provision.actor.some((a) => {
    const ref = localReference(a.reference?.reference, env.baseUrl);
    return ref !== undefined && env.actor.identities.has(ref);
  });
}

function actionMatches(provision: ConsentProvision, env: EvaluationEnv): boolean {
  if (!provision.action?.length) return true;
  return conceptsName(provision.action, CONSENT_ACTION_SYSTEM, env.action === 'access' ? READ_ACTIONS : WRITE_ACTIONS);
}

function purposeMatches(provision: ConsentProvision, env: EvaluationEnv): boolean {
  if (!provision.purpose?.length) return true;
  return codingsName(provision.purpose, ACT_REASON_SYSTEM, env.purpose);
}

function classMatches(provision: ConsentProvision, resourceType: string): boolean {
  if (!provision.class?.length) return true;
  return codingsName(provision.class, RESOURCE_TYPES_SYSTEM, resourceType);
}

/** The instants a Period covers, its ends at their precision (`2024` ends on 31 December). */
export function periodRange(period: Period): { low: number; high: number } {
  const [range] = dateEntries('period', { type: 'Period', data: period });
  return range ?? { low: MIN_INSTANT, high: MAX_INSTANT };
}

export function periodCovers(period: Period | undefined, instant: number): boolean {
  if (!period) return true;
  const { low, high } = periodRange(period);
  return low <= instant && instant <= high;
}

/**
 * The request-only conditions of a provision. `period` counts here only for
 * nested provisions: the root's period selects the Consent itself (active-consents.ts).
 */
export function staticConditionsMatch(provision: ConsentProvision, env: EvaluationEnv, resourceType: string, nested: boolean): boolean {
  return (
    actorMatches(provision, env) &&
    actionMatches(provision, env) &&
    purposeMatches(provision, env) &&
    classMatches(provision, resourceType) &&
    (!nested || periodCovers(provision.period, env.now))
  );
}
