import type { AccessPartSource } from '../access-filter';
import type { Principal } from '../../context';
import { compartmentCondition, namesNoPatient } from '../../search/compartment';
import type { Condition } from '../../search/query';
import { scopesGranting, tokenScopes } from './authorize';
import type { Permission, Scope } from './scope';

const NOTHING: Condition = { kind: 'constant', value: false };

/**
 * A patient's access log: the events whose entity is the patient. Not the
 * compartment's `patient` parameter, which also matches events where the
 * patient is the agent, and those can name another patient (an attempt to
 * read someone else's record): a patient never sees another patient's name.
 */
function auditEntityIs(patient: string): Condition {
  return { kind: 'param', code: 'entity', type: 'reference', values: [{ kind: 'reference', ref: `Patient/${patient}` }] };
}

/**
 * The patient compartments a principal's scopes are confined to: a `patient/`
 * scope's launch context, and, whatever the scope, a Patient user's own
 * record. SMART's `user/` (and `system/`) scopes grant what the user may see,
 * and a patient may see their own record only: a Patient user holding
 * `user/*.rs` (a client allowed both kinds of scope) reads no other
 * patient's data, whatever their Consents say. Undefined when a `patient/`
 * scope has no launch context (the principal check refuses such tokens).
 */
function confinedTo(scope: Scope, principal: Principal): Set<string> | undefined {
  const patients = new Set<string>();
  if (principal.kind !== 'user') return scope.context === 'patient' ? undefined : patients;
  if (scope.context === 'patient') {
    if (principal.patient === undefined) return undefined;
    patients.add(principal.patient);
  }
  if (principal.actorType === 'Patient') patients.add(principal.fhirUser.slice('Patient/'.length));
  return patients;
}

/** Resources of `resourceType` in `patient`'s compartment, or undefined for types in no patient compartment. */
function compartmentOf(patient: string, resourceType: string): Condition | undefined {
  const inCompartment = resourceType === 'AuditEvent' ? auditEntityIs(patient) : compartmentCondition({ type: 'Patient', id: patient }, resourceType);
  if (!inCompartment) return undefined;
  // A Schedule of a practitioner or a room is in no patient's compartment: the scope alone governs it.
  const nobodys = namesNoPatient(resourceType);
  return nobodys ? { kind: 'any', of: [[inCompartment], [nobodys]] } : inCompartment;
}

/** What one scope lets through for `resourceType`: its compartments and its granular query. */
function scopeConditions(scope: Scope, principal: Principal, resourceType: string): Condition[] {
  const patients = confinedTo(scope, principal);
  if (patients === undefined) return [NOTHING];
  // Types in no patient compartment (Organization, Practitioner...) are governed by the scope alone.
  const conditions = [...patients].map((patient) => compartmentOf(patient, resourceType)).filter((c): c is Condition => c !== undefined);
  if (scope.where && scope.resourceType === resourceType) conditions.push(...scope.where);
  return conditions;
}

/**
 * The scope layer's part of the access filter: a resource of `resourceType`
 * is visible for `permission` when some granting scope lets it through (the
 * grants are ORed); no granting scope at all hides the type. Undefined for a
 * principal without scopes (the operator acting without a token).
 */
export function scopeConditionsFor(principal: Principal, resourceType: string, permission: Permission): Condition[] | undefined {
  const scopes = tokenScopes(principal);
  if (scopes === undefined) return undefined;
  const groups = scopesGranting(scopes, resourceType, permission).map((scope) => scopeConditions(scope, principal, resourceType));
  if (groups.length === 0) return [NOTHING];
  // One unrestricted grant makes the others irrelevant.
  if (groups.some((group) => group.length === 0)) return [];
  return groups.length === 1 ? groups[0] : [{ kind: 'any', of: groups }];
}

/** The scope layer as a part of the composed access filter (src/security/access-filter.ts). */
export const scopeAccessPart: AccessPartSource = ({ principal, permission }) =>
  tokenScopes(principal) === undefined ? undefined : { conditionsFor: (resourceType) => scopeConditionsFor(principal, resourceType, permission) };
