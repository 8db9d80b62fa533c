/**
 * decision.ts's steps 3 to 5 for one patient, compiled to a search IR
 * condition on resources of one type: the condition holds exactly for the
 * resources of that type the patient's rules permit to this request. Request
 * facts (actor, purpose, clock, type) fold to constants; what depends on the
 * resource stays as conditions (resource-atoms.ts).
 */
import type { Consent, ConsentProvision } from 'fhir/r4';
import type { Condition } from '../../search/query';
import { isProvider } from './actor';
import { and, constant, FALSE, idIn, not, or, referenceParam } from './conditions';
import type { EvaluationEnv } from './evaluation-env';
import { policyDefault, type ConsentDecision } from './policy-rule';
import { staticConditionsMatch } from './provision-static';
import {
  codesCondition,
  dataCondition,
  dataPeriodCondition,
  isResourceCondition,
  labelsCondition,
  namedReferences,
  sensitiveLabelsNamed,
  unnamedSensitiveCondition,
} from './resource-atoms';
import type { PayerReach } from './relationships';
import { PAYMENT, TREAT, type Label } from './vocabulary';

/** The base policy's facts for one request (relationships.ts looks them up). */
export interface RequestBase {
  /** Patients the actor has a treatment relationship with. */
  treated: ReadonlySet<string>;
  /** What the payer rule opens, when the actor is a payer. */
  payer?: PayerReach;
}

interface CompiledProvision {
  match: Condition;
  deny: Condition;
  permit: Condition;
  /** Permit, and the deciding path may disclose R's sensitive labels. */
  permitDisclosing: Condition;
}

interface PathContext {
  named: Label[];
  references: string[];
}

const NEVER: CompiledProvision = { match: FALSE, deny: FALSE, permit: FALSE, permitDisclosing: FALSE };

/** R carries no sensitive label: what a blanket permit requires (step 5). */
const sensitiveFreeByType = new Map<string, Condition>();
/** One instance per type, so that verdicts share it (and consent-access.ts keys them cheaply); conditions are never mutated. */
export const sensitiveFree = (resourceType: string): Condition => {
  let condition = sensitiveFreeByType.get(resourceType);
  if (!condition) sensitiveFreeByType.set(resourceType, (condition = not(unnamedSensitiveCondition(resourceType, []))));
  return condition;
};

function contentCondition(provision: ConsentProvision, env: EvaluationEnv, type: string): Condition {
  return and(
    provision.securityLabel?.length ? labelsCondition(type, provision.securityLabel) : constant(true),
    provision.code?.length ? codesCondition(type, provision.code) : constant(true),
    provision.dataPeriod ? dataPeriodCondition(type, provision.dataPeriod) : constant(true),
    provision.data?.length ? dataCondition(type, provision.data, env.baseUrl) : constant(true),
  );
}

function compileProvision(
  provision: ConsentProvision,
  inherited: ConsentDecision,
  context: PathContext,
  env: EvaluationEnv,
  type: string,
  nested: boolean,
): CompiledProvision {
  if (!staticConditionsMatch(provision, env, type, nested)) return NEVER;
  const match = contentCondition(provision, env, type);
  if (match.kind === 'constant' && !match.value) return NEVER;
  const decision = provision.type ?? inherited;
  const here: PathContext = {
    named: [...context.named, ...sensitiveLabelsNamed(provision.securityLabel)],
    references: [...context.references, ...namedReferences(provision.data, env.baseUrl)],
  };
  const children = (provision.provision ?? []).map((child) => compileProvision(child, decision, here, env, type, true));
  const childDenies = or(...children.map((c) => c.deny));
  const childPermits = or(...children.map((c) => c.permit));
  const disclosesHere = or(not(unnamedSensitiveCondition(type, here.named)), ...here.references.map((ref) => isResourceCondition(type, ref)));
  const ownDecision = not(childPermits);
  return {
    match,
    deny: and(match, or(childDenies, and(ownDecision, constant(decision === 'deny')))),
    permit: and(match, not(childDenies), or(childPermits, and(ownDecision, constant(decision === 'permit')))),
    permitDisclosing: and(
      match,
      not(childDenies),
      or(...children.map((c) => c.permitDisclosing), and(ownDecision, constant(decision === 'permit'), disclosesHere)),
    ),
  };
}

/** When the Consent applies, and when it then permits R (sensitivity included). */
function compileConsent(consent: Consent, env: EvaluationEnv, type: string): { applies: Condition; permits: Condition } {
  const fallback = policyDefault(consent, env);
  const fallbackPermits = and(constant(fallback === 'permit'), sensitiveFree(type));
  if (!consent.provision) return { applies: constant(fallback !== undefined), permits: fallbackPermits };
  const root = compileProvision(consent.provision, 'deny', { named: [], references: [] }, env, type, false);
  return {
    applies: or(root.match, constant(fallback !== undefined)),
    permits: or(root.permitDisclosing, and(not(root.match), fallbackPermits)),
  };
}

/** The payer rule on resources of `type`: its Claims, Coverages and the ClaimResponses it issues, and (for a Patient) any of its patients. */
export function payerOpens(type: string, reach: PayerReach): Condition {
  if (type === 'Claim') return idIn(reach.claimIds);
  if (type === 'ClaimResponse') return referenceParam('insurer', [reach.payer]);
  if (type === 'Coverage') return idIn(reach.coverageIds);
  return type === 'Patient' ? idIn(reach.patientIds) : FALSE;
}

/** Which base rules can open anything for this request: treatment, payment, or none. */
export function baseRulesInPlay(env: EvaluationEnv): { treats: boolean; pays: boolean } {
  return { treats: env.purpose === TREAT && isProvider(env.actor), pays: env.purpose === PAYMENT && env.actor.payer };
}

/** The base policy (step 4) for one patient, with step 5's blanket rule. */
export function basePermits(env: EvaluationEnv, type: string, patientId: string, base: RequestBase): Condition {
  const { treats, pays } = baseRulesInPlay(env);
  const opened = or(constant(treats && base.treated.has(patientId)), pays && base.payer ? payerOpens(type, base.payer) : FALSE);
  return and(opened, sensitiveFree(type));
}

/**
 * Whether one of these Consents can apply to this request at all: when none
 * can, the patient falls to the base policy like a patient without Consents,
 * and needs no condition of their own.
 */
export function consentsCanApply(consents: readonly Consent[], env: EvaluationEnv, type: string): boolean {
  return consents.some((c) => {
    const { applies } = compileConsent(c, env, type);
    return !(applies.kind === 'constant' && !applies.value);
  });
}

/** For one patient: when their rules permit R, and when one of their Consents decides against it (a veto). */
export interface PatientVerdict {
  permits: Condition;
  consentDenies: Condition;
}

/**
 * Steps 3 to 5 for one patient: the first applicable Consent (newest first,
 * `consentsInForce`) decides, else the base policy. Built from the oldest up as
 * nested if-then-else.
 */
export function patientVerdict(consentsNewestFirst: readonly Consent[], env: EvaluationEnv, type: string, patientId: string, base: RequestBase): PatientVerdict {
  let permits = basePermits(env, type, patientId, base);
  let consentDenies = FALSE;
  for (const consent of [...consentsNewestFirst].reverse()) {
    const c = compileConsent(consent, env, type);
    permits = or(and(c.applies, c.permits), and(not(c.applies), permits));
    consentDenies = or(and(c.applies, not(c.permits)), and(not(c.applies), consentDenies));
  }
  return { permits, consentDenies };
}
