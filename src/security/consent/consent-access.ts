/**
 * The consent layer's part of the access filter: for each resource type, one
 * search condition that holds exactly for the resources decision.ts permits
 * to this request, so that storage enforces consent inside every query.
 *
 * Only parameter conditions (references, tokens, dates, `_id`) and their
 * any/not combinations are produced, never chains or `_has`: the adapters
 * apply the access filter again inside chain targets and `_has` sources, so
 * a relationship written as a `_has` would be filtered by itself (and recurse).
 * The relationships are looked up per request instead (relationships.ts).
 */
import { namesNoPatient } from '../../search/compartment';
import type { Condition, ParamCondition } from '../../search/query';
import { actorPatientId, canBreakGlass } from './actor';
import { and, FALSE, not, or, toConditionList } from './conditions';
import { baseRulesInPlay, consentsCanApply, patientVerdict, payerOpens, sensitiveFree, type PatientVerdict } from './compile';
import type { ConsentWorld } from './consent-world';
import { aboutPatients, isPatientDataType } from './patients-of';
import { EMERGENCY_TREAT } from './vocabulary';

const without = (ids: Iterable<string>, excluded: ReadonlySet<string>) => [...ids].filter((id) => !excluded.has(id));

const keys = new WeakMap<Condition, string>();
/** A text equal for equal conditions, remembered per condition object: shared parts (sensitiveFree) are written out once, not once per patient. */
function conditionKey(condition: Condition): string {
  let key = keys.get(condition);
  if (key === undefined) {
    if (condition.kind === 'any') key = `any(${condition.of.map((group) => group.map(conditionKey).join('&')).join('|')})`;
    else if (condition.kind === 'not') key = `not(${conditionKey(condition.condition)})`;
    else key = JSON.stringify(condition);
    keys.set(condition, key);
  }
  return key;
}

/** Patients whose Consents can apply to this request on this type, grouped by identical verdicts (one condition per group). */
function verdictGroups(world: ConsentWorld, type: string): { ruled: Set<string>; groups: Array<{ ids: string[]; verdict: PatientVerdict }> } {
  const ruled = new Set<string>();
  const groups = new Map<string, { ids: string[]; verdict: PatientVerdict }>();
  for (const [patientId, consents] of world.consents) {
    if (!consentsCanApply(consents, world.env, type)) continue;
    ruled.add(patientId);
    const verdict = patientVerdict(consents, world.env, type, patientId, world.base);
    const key = `${conditionKey(verdict.permits)}/${conditionKey(verdict.consentDenies)}`;
    const group = groups.get(key) ?? { ids: [], verdict };
    group.ids.push(patientId);
    groups.set(key, group);
  }
  return { ruled, groups: [...groups.values()] };
}

/** The base policy for patients whose Consents do not apply: it opens, and never vetoes. */
function baseOpens(world: ConsentWorld, type: string, ruled: ReadonlySet<string>): Condition {
  const { treats, pays } = baseRulesInPlay(world.env);
  const payer = world.base.payer;
  return and(
    or(
      treats ? aboutPatients(type, without(world.base.treated, ruled)) : FALSE,
      pays && payer ? and(payerOpens(type, payer), aboutPatients(type, without(payer.patientIds, ruled))) : FALSE,
    ),
    sensitiveFree(type),
  );
}

const conjunctsOf = (c: Condition): Condition[] => (c.kind === 'any' && c.of.length === 1 ? c.of[0]! : [c]);
const disjunctsOf = (c: Condition): Condition[] => (c.kind === 'any' && c.of.every((group) => group.length === 1) ? c.of.map((group) => group[0]!) : [c]);

/** Reference tests on the same parameter, ORed, as one test with all their values (a reference parameter matches any of its values). */
function mergeReferenceTests(disjuncts: readonly Condition[]): Condition[] {
  const merged: Condition[] = [];
  const byParam = new Map<string, ParamCondition>();
  for (const d of disjuncts) {
    if (d.kind !== 'param' || d.type !== 'reference' || d.modifier !== undefined) {
      merged.push(d);
      continue;
    }
    const same = byParam.get(d.code);
    if (!same) {
      const copy: ParamCondition = { ...d, values: [...d.values] };
      byParam.set(d.code, copy);
      merged.push(copy);
      continue;
    }
    const known = new Set(same.values.map((v) => JSON.stringify(v)));
    for (const v of d.values) if (!known.has(JSON.stringify(v))) same.values.push(v);
  }
  return merged;
}

/**
 * `or(...conditions)` with the conjuncts they all share taken out,
 * `S ∧ (A ∨ B)` for `(A ∧ S) ∨ (B ∧ S)`, and the patient lists of what
 * remains merged per parameter: the same condition, with each shared test
 * and each parameter tested once per row. `shared`: those conjuncts (conditionKey).
 */
function factoredOr(conditions: readonly Condition[]): { condition: Condition; shared: Set<string> } {
  const live = conditions.filter((c) => !(c.kind === 'constant' && !c.value));
  if (live.length === 0) return { condition: FALSE, shared: new Set() };
  const keyed = live.map((c) => conjunctsOf(c).map((part) => ({ part, key: conditionKey(part) })));
  const shared = new Set(keyed[0]!.filter(({ key }) => keyed.every((list) => list.some((other) => other.key === key))).map(({ key }) => key));
  const common = keyed[0]!.filter(({ key }) => shared.has(key)).map(({ part }) => part);
  const rests = keyed.map((list) => and(...list.filter(({ key }) => !shared.has(key)).map(({ part }) => part)));
  return { condition: and(...common, or(...mergeReferenceTests(rests.flatMap(disjunctsOf)))), shared };
}

/**
 * The consent condition on resources of `type` (decision.ts's `decide`, compiled):
 * some patient's rules open R (`opened`) and no patient's Consent denies it.
 * A veto `¬(about(g) ∧ denies(g))` is dropped when every opener already
 * requires `¬denies(g)`: then `opened` implies it, and the condition is the
 * same with fewer patient ids for the storage to test.
 */
export function consentCondition(world: ConsentWorld, type: string): Condition {
  if (!isPatientDataType(type)) return { kind: 'constant', value: true };
  const { env } = world;
  if (env.purpose === EMERGENCY_TREAT && canBreakGlass(env.actor)) return { kind: 'constant', value: true };
  const { ruled, groups } = verdictGroups(world, type);
  const openers = [...groups.map((g) => and(aboutPatients(type, g.ids), g.verdict.permits)), baseOpens(world, type, ruled)];
  // A veto whose negation every opener already requires (a permit-by-default Consent's "unless sensitive") adds nothing: left out.
  const { condition: opened, shared } = factoredOr(openers);
  const notVetoed = and(
    ...groups.filter((g) => !shared.has(conditionKey(not(g.verdict.consentDenies)))).map((g) => or(not(aboutPatients(type, g.ids)), not(g.verdict.consentDenies))),
  );
  const own = actorPatientId(env.actor);
  // A resource of no patient (a practitioner's Schedule) is not consent's to hide (compartment.ts).
  const nobodys = namesNoPatient(type) ?? FALSE;
  return or(nobodys, own === undefined ? FALSE : aboutPatients(type, [own]), and(opened, notVetoed));
}

export interface ConsentAccessPart {
  conditionsFor(resourceType: string): Condition[];
  /** The request is honoured by break-the-glass: its responses carry `X-Break-Glass: true`. */
  readonly breakGlass: boolean;
}

/**
 * Marks the consent condition as a test on each row rather than a set to
 * drive the query from (the search IR's `rowTest` hint, query.ts): on the
 * trees consent produces, driving from them was 10 to 100 times slower on
 * SQLite (8 s against under 0.2 s for a few dozen rows).
 */
function asRowTest(condition: Condition): Condition {
  return condition.kind === 'constant' ? condition : { ...condition, rowTest: true };
}

export function consentAccessPart(world: ConsentWorld): ConsentAccessPart {
  const memo = new Map<string, Condition[]>();
  return {
    breakGlass: world.env.purpose === EMERGENCY_TREAT && canBreakGlass(world.env.actor),
    conditionsFor(resourceType) {
      let conditions = memo.get(resourceType);
      if (!conditions) memo.set(resourceType, (conditions = toConditionList(consentCondition(world, resourceType)).map(asRowTest)));
      return conditions;
    },
  };
}
