/**
 * The consent decision for one resource (docs/access-control.md, "The decision", steps 1 to 5), as a pure
 * function: actor A with purpose U asks for resource R, which belongs to the
 * compartments of the given patients. compile.ts turns the same rules into
 * search conditions; the property test holds the two to the same answers.
 */
import type { Consent, ConsentProvision } from 'fhir/r4';
import { actorPatientId, canBreakGlass, isProvider } from './actor';
import { consentsInForce } from './active-consents';
import type { EvaluationEnv } from './evaluation-env';
import { policyDefault, type ConsentDecision } from './policy-rule';
import { staticConditionsMatch } from './provision-static';
import {
  codesMatch,
  dataMatches,
  dataPeriodMatches,
  labelsMatch,
  namedReferences,
  sensitiveLabelsNamed,
  sensitiveLabelsOf,
  type ResourceFacts,
} from './resource-atoms';
import { EMERGENCY_TREAT, PAYMENT, sameLabel, TREAT, type Label } from './vocabulary';

/** The base policy's facts about A, P and R (base-facts.ts computes them from storage). */
export interface BaseFacts {
  /** A (or A's organization) has a treatment relationship with P. */
  treatmentRelationship: boolean;
  /**
   * R is opened by the payer rule: a Claim of P whose insurer is the payer or
   * whose insurance.coverage is a Coverage the payer pays, a Coverage the payer
   * pays, or P's own Patient resource when such a Claim or Coverage exists.
   */
  payerLinked: boolean;
}

/** One patient whose compartment holds R: their Consents (any status; selection happens here) and the base facts. */
export interface PatientCase {
  patientId: string;
  consents: readonly Consent[];
  base: BaseFacts;
}

export type BaseRule =
  | 'patient-self'
  | 'break-the-glass'
  | 'treatment-relationship'
  | 'payer-claims'
  | 'no-relationship'
  | 'sensitive-data'
  | 'no-patient';

/** Why: the deciding Consent (`Consent/id`) or the rule of the base policy. */
export type Basis = { consent: string } | { rule: BaseRule };

export interface Decision {
  decision: ConsentDecision;
  basis: Basis;
  /** The provisions that matched, root first, down to the deciding one (`Consent.provision.provision[1]`). */
  path: string[];
  breakGlass: boolean;
  /** The patient whose rules decided (absent for patient-self, break-the-glass and no-patient). */
  patientId?: string;
  /** Set when step 5 withheld a sensitive resource: the permit it overrode. */
  withheld?: Basis;
}

interface ProvisionOutcome {
  decision: ConsentDecision;
  path: string[];
  /** The path names every sensitive label R carries, or names R in `data`: a permit may disclose it. */
  disclosesSensitive: boolean;
}

interface PathContext {
  named: Label[];
  namesResource: boolean;
}

function contentMatches(provision: ConsentProvision, env: EvaluationEnv, facts: ResourceFacts): boolean {
  return (
    (!provision.securityLabel?.length || labelsMatch(facts, provision.securityLabel)) &&
    (!provision.code?.length || codesMatch(facts, provision.code)) &&
    (!provision.dataPeriod || dataPeriodMatches(facts, provision.dataPeriod)) &&
    (!provision.data?.length || dataMatches(facts, provision.data, env.baseUrl))
  );
}

/**
 * A matching provision decides its `type` (inherited from its parent when
 * absent), unless matching nested provisions replace it: a deny among them
 * wins over a permit.
 */
function evaluateProvision(
  provision: ConsentProvision,
  name: string,
  inherited: ConsentDecision,
  context: PathContext,
  env: EvaluationEnv,
  facts: ResourceFacts,
  nested: boolean,
): ProvisionOutcome | undefined {
  if (!staticConditionsMatch(provision, env, facts.resourceType, nested) || !contentMatches(provision, env, facts)) return undefined;
  const type = provision.type ?? inherited;
  const here: PathContext = {
    named: [...context.named, ...sensitiveLabelsNamed(provision.securityLabel)],
    namesResource: context.namesResource || namedReferences(provision.data, env.baseUrl).includes(`${facts.resourceType}/${facts.id}`),
  };
  const children = (provision.provision ?? [])
    .map((child, i) => evaluateProvision(child, `${name}.provision[${i}]`, type, here, env, facts, true))
    .filter((o): o is ProvisionOutcome => o !== undefined);
  const denied = children.find((o) => o.decision === 'deny');
  const permits = children.filter((o) => o.decision === 'permit');
  const decisive = denied ?? permits.find((o) => o.disclosesSensitive) ?? permits[0];
  if (decisive) return { ...decisive, path: [name, ...decisive.path] };
  const sensitive = sensitiveLabelsOf(facts);
  const disclosesSensitive = here.namesResource || sensitive.every((l) => here.named.some((n) => sameLabel(n, l)));
  return { decision: type, path: [name], disclosesSensitive };
}

/** A Consent's answer, or undefined when it is not applicable. A root without `type` denies (privacy first). */
function evaluateConsent(consent: Consent, env: EvaluationEnv, facts: ResourceFacts): ProvisionOutcome | undefined {
  const root = consent.provision;
  const matched = root ? evaluateProvision(root, 'Consent.provision', 'deny', { named: [], namesResource: false }, env, facts, false) : undefined;
  if (matched) return matched;
  const fallback = policyDefault(consent, env);
  // A policy default is a blanket decision: it never discloses sensitive data.
  return fallback === undefined ? undefined : { decision: fallback, path: [], disclosesSensitive: false };
}

function basePolicy(env: EvaluationEnv, base: BaseFacts): { decision: ConsentDecision; rule: BaseRule } {
  if (env.purpose === TREAT && isProvider(env.actor) && base.treatmentRelationship) return { decision: 'permit', rule: 'treatment-relationship' };
  if (env.purpose === PAYMENT && env.actor.payer && base.payerLinked) return { decision: 'permit', rule: 'payer-claims' };
  return { decision: 'deny', rule: 'no-relationship' };
}

/** Steps 3 to 5 for one patient of R. */
export function decideForPatient(env: EvaluationEnv, facts: ResourceFacts, patient: PatientCase): Decision {
  const common = { breakGlass: false, patientId: patient.patientId };
  const sensitive = sensitiveLabelsOf(facts).length > 0;
  for (const consent of consentsInForce(patient.consents, env.now)) {
    const outcome = evaluateConsent(consent, env, facts);
    if (!outcome) continue;
    const basis = { consent: `Consent/${consent.id}` };
    if (outcome.decision === 'permit' && sensitive && !outcome.disclosesSensitive) {
      return { ...common, decision: 'deny', basis: { rule: 'sensitive-data' }, path: outcome.path, withheld: basis };
    }
    return { ...common, decision: outcome.decision, basis, path: outcome.path };
  }
  const base = basePolicy(env, patient.base);
  if (base.decision === 'permit' && sensitive) {
    return { ...common, decision: 'deny', basis: { rule: 'sensitive-data' }, path: [], withheld: { rule: base.rule } };
  }
  return { ...common, decision: base.decision, basis: { rule: base.rule }, path: [] };
}

/** A deny that one of the patient's own Consents made (a sensitive resource it withheld included). */
export function deniedByConsent(d: Decision): boolean {
  return d.decision === 'deny' && ('consent' in d.basis || (d.withheld !== undefined && 'consent' in d.withheld));
}

/**
 * The decision for R, which belongs to the compartments of `patients`. The
 * actor's own record is theirs (step 1); break-the-glass opens everything
 * (step 2). Otherwise R, when shared by several patients (an Appointment of
 * two, a Coverage with a subscriber and a beneficiary), is disclosed when one
 * patient's rules permit it and no patient's Consent denies it: a patient's
 * Consent always binds, while the base policy only opens, so one patient's
 * missing relationship does not hide the other's record.
 */
export function decide(env: EvaluationEnv, facts: ResourceFacts, patients: readonly PatientCase[]): Decision {
  const own = actorPatientId(env.actor);
  if (own !== undefined && patients.some((p) => p.patientId === own)) {
    return { decision: 'permit', basis: { rule: 'patient-self' }, path: [], breakGlass: false };
  }
  if (env.purpose === EMERGENCY_TREAT && canBreakGlass(env.actor)) {
    return { decision: 'permit', basis: { rule: 'break-the-glass' }, path: [], breakGlass: true };
  }
  // A compartment resource that names no patient cannot be attributed, so no rule can open it.
  if (patients.length === 0) return { decision: 'deny', basis: { rule: 'no-patient' }, path: [], breakGlass: false };
  const decisions = patients.map((p) => decideForPatient(env, facts, p));
  return decisions.find(deniedByConsent) ?? decisions.find((d) => d.decision === 'permit') ?? decisions[0]!;
}
