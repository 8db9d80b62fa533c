/**
 * Compartments (http://hl7.org/fhir/R4/compartmentdefinition.html) as search
 * conditions: "in Patient/123's compartment" is, for each resource type of
 * the compartment, "one of its compartment parameters points at Patient/123".
 * Used by compartment search (`/Patient/123/Encounter`, `/Patient/123/*`)
 * and meant for the access layer too (a patient-scoped token sees its
 * patient's compartment): `compartmentAccess` is an AccessFilter.
 */
import type { AccessFilter } from '../context';
import { patientCompartment } from '../fhir/definitions';
import type { IndexEntry } from './index-entry';
import type { Condition, ParamCondition } from './query';

/** The one compartment the definitions carry (CompartmentDefinition-patient). */
export interface Compartment {
  type: 'Patient';
  id: string;
}

export const SUPPORTED_COMPARTMENTS: ReadonlySet<string> = new Set(['Patient']);

/** The resource types that can be in a compartment of this type, sorted. */
export function compartmentTypes(): string[] {
  return [...patientCompartment().keys()].sort();
}

export function isInCompartmentDefinition(resourceType: string): boolean {
  return patientCompartment().has(resourceType);
}

/** One of `code`'s references names one of the compartments (all of them values of one condition: one indexed IN test). */
function pointsAt(code: string, compartments: Compartments): ParamCondition {
  return { kind: 'param', code, type: 'reference', values: compartments.ids.map((id) => ({ kind: 'reference', ref: `${compartments.type}/${id}` })) };
}

/** The focal resource itself is in its own compartment (`Patient/123` in Patient/123's). */
function isFocal(compartments: Compartments): ParamCondition {
  return { kind: 'param', code: '_id', type: 'token', values: compartments.ids.map((id) => ({ kind: 'token', code: id })) };
}

/** Several compartments of one type at once: a resource is in them when it is in any of them (bulk export, by batches of patients). */
export interface Compartments {
  type: 'Patient';
  ids: readonly string[];
}

const several = (compartment: Compartment | Compartments): Compartments => ('ids' in compartment ? compartment : { type: compartment.type, ids: [compartment.id] });

/**
 * Types of the Patient compartment that are patient data only when they
 * name a Patient, by these parameters. R4 puts Schedule in the compartment
 * (Schedule.actor may be a Patient), but a practitioner's or a room's
 * Schedule is nobody's data: the access layers (scopes, consent) do not hide
 * it, while a Schedule of a Patient stays in that patient's compartment.
 */
const PATIENT_DATA_WHEN_NAMED: ReadonlyMap<string, readonly string[]> = new Map([['Schedule', ['actor']]]);

/**
 * For such a type, the condition "names no Patient" (resources of it that
 * are in no patient's compartment); undefined for every other type.
 */
export function namesNoPatient(resourceType: string): Condition | undefined {
  const params = PATIENT_DATA_WHEN_NAMED.get(resourceType);
  if (params === undefined) return undefined;
  const names = (code: string): Condition => ({ kind: 'param', code, type: 'reference', values: [{ kind: 'reference', targetTypes: ['Patient'] }] });
  return { kind: 'not', condition: { kind: 'any', of: params.map((code) => [names(code)]) } };
}

/**
 * The condition that puts a resource of `resourceType` in the compartment;
 * undefined when the type is not part of the compartment definition (no
 * resource of it is in any patient's compartment).
 */
export function compartmentCondition(compartment: Compartment | Compartments, resourceType: string): Condition | undefined {
  const codes = patientCompartment().get(resourceType);
  if (codes === undefined) return undefined;
  const groups: Condition[][] = codes.map((code) => [pointsAt(code, several(compartment))]);
  if (resourceType === compartment.type) groups.unshift([isFocal(several(compartment))]);
  return { kind: 'any', of: groups };
}

/**
 * One condition for a search over several compartment types at once: a
 * reference to the compartment by ANY of the compartment parameters of ANY
 * of the types. Wider than the per-type conditions where a type has a
 * parameter that is another type's compartment parameter (Basic.subject);
 * pair it with `compartmentAccess` for the exact set.
 */
export function compartmentConditionForTypes(compartment: Compartment | Compartments, resourceTypes: readonly string[]): Condition {
  const codes = new Set(resourceTypes.flatMap((type) => patientCompartment().get(type) ?? []));
  const groups: Condition[][] = [...codes].sort().map((code) => [pointsAt(code, several(compartment))]);
  if (resourceTypes.includes(compartment.type)) groups.unshift([isFocal(several(compartment))]);
  return { kind: 'any', of: groups };
}

/**
 * An access filter that restricts every type of the compartment definition
 * to the compartment (types outside it are left alone), on top of `inner`.
 */
export function compartmentAccess(compartment: Compartment | Compartments, inner?: AccessFilter): AccessFilter {
  return {
    conditionsFor(resourceType: string): Condition[] {
      const base = inner?.conditionsFor(resourceType) ?? [];
      const own = compartmentCondition(compartment, resourceType);
      return own ? [...base, own] : base;
    },
  };
}

/**
 * The patients whose compartment holds a resource, from its index entries:
 * a Patient is in its own, and a resource in those of the Patients that its
 * entries for `params` reference. `params` are the caller's choice of
 * compartment parameters: the CompartmentDefinition's (the audit: a
 * Patient's `link` too), or fewer (consent: a Patient's `link` does not make
 * it another patient's data). Sorted, each once.
 */
export function patientsInCompartment(resourceType: string, id: string | undefined, entries: readonly IndexEntry[], params: readonly string[]): string[] {
  const patients = new Set<string>();
  if (resourceType === 'Patient' && id) patients.add(id);
  for (const entry of entries) {
    if (entry.kind === 'reference' && params.includes(entry.param) && entry.targetType === 'Patient' && entry.targetId) patients.add(entry.targetId);
  }
  return [...patients].sort();
}
