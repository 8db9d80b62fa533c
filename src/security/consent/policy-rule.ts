/** The default a Consent's `policyRule` gives when its provisions do not decide (docs/access-control.md, "The decision", step 3). */
import type { Consent } from 'fhir/r4';
import { isProvider } from './actor';
import { codingsName } from './coded';
import type { EvaluationEnv } from './evaluation-env';
import { ACT_CODE_SYSTEM, TREAT } from './vocabulary';

export type ConsentDecision = 'permit' | 'deny';

/** `OPTOUT`: a lockbox (deny); `OPTIN`: permit for treatment by a provider; anything else: not applicable. */
export function policyDefault(consent: Consent, env: EvaluationEnv): ConsentDecision | undefined {
  const codings = consent.policyRule?.coding;
  if (codingsName(codings, ACT_CODE_SYSTEM, 'OPTOUT')) return 'deny';
  if (codingsName(codings, ACT_CODE_SYSTEM, 'OPTIN')) return env.purpose === TREAT && isProvider(env.actor) ? 'permit' : undefined;
  return undefined;
}
