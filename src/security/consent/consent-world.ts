/**
 * Everything the consent layer reads for one request, looked up with a few
 * unfiltered indexed queries: the actor, the Consents in force grouped by
 * patient, and the base policy's relationships. Nothing here is cached;
 * consent-source.ts caches the compiled result, keyed by the change stamps
 * of the types read here (CONSENT_INPUT_TYPES) and valid until the clock
 * alone could change it (`changesAt`).
 */
import type { Consent } from 'fhir/r4';
import type { RequestContext } from '../../context';
import type { Indexer } from '../../search/index-entry';
import type { StorageOps } from '../../storage/port';
import type { ConsentActor } from './actor';
import { consentsInForce, consentTimeRanges, nextTimeBoundary } from './active-consents';
import { baseRulesInPlay, type RequestBase } from './compile';
import { referenceParam, tokenParam } from './conditions';
import type { ConsentAction, EvaluationEnv } from './evaluation-env';
import { localReference } from './provision-static';
import { payerReach, treatedPatients } from './relationships';
import { searchAll } from './storage-queries';
import { CONSENT_SCOPE_SYSTEM } from './vocabulary';

export interface ConsentWorld {
  env: EvaluationEnv;
  /** Patient id → their Consents in force, newest first. */
  consents: ReadonlyMap<string, readonly Consent[]>;
  base: RequestBase;
  /** The first instant after the request's clock at which a Consent's date or period could change `consents`. */
  changesAt: number;
}

/**
 * The resource types a world (and its actor) is read from: a write to any
 * of them may change it. Organization: an actor's type (payer, provider).
 */
export const CONSENT_INPUT_TYPES: readonly string[] = [
  'Consent', 'PractitionerRole', 'Organization', 'Patient', 'Encounter', 'Appointment', 'ServiceRequest', 'Claim', 'Coverage',
];

/** The Consents in force by patient, and when the clock alone could change them. */
export interface ConsentsInForce {
  byPatient: ReadonlyMap<string, readonly Consent[]>;
  changesAt: number;
}

/** Active patient-privacy Consents by patient: those in force now, newest first; and when the clock could change that. */
export async function consentsByPatient(ops: StorageOps, ctx: RequestContext): Promise<ConsentsInForce> {
  const active = await searchAll<Consent>(ops, ctx, 'Consent', [
    tokenParam('status', [{ kind: 'token', code: 'active' }]),
    tokenParam('scope', [{ kind: 'token', system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }]),
  ]);
  const byPatient = new Map<string, Consent[]>();
  for (const consent of active) {
    const ref = localReference(consent.patient?.reference, ctx.baseUrl);
    if (!ref?.startsWith('Patient/')) continue;
    const id = ref.slice('Patient/'.length);
    byPatient.set(id, [...(byPatient.get(id) ?? []), consent]);
  }
  const now = ctx.now.getTime();
  for (const [id, consents] of byPatient) byPatient.set(id, consentsInForce(consents, now));
  return { byPatient, changesAt: nextTimeBoundary(active.flatMap(consentTimeRanges), now) };
}

export async function loadConsentWorld(
  ops: StorageOps,
  ctx: RequestContext,
  indexer: Indexer,
  actor: ConsentActor,
  purpose: string,
  action: ConsentAction = 'access',
  /** The same for every actor: a caller may share one lookup between requests (consent-source.ts). */
  inForce: () => Promise<ConsentsInForce> = () => consentsByPatient(ops, ctx),
): Promise<ConsentWorld> {
  const env: EvaluationEnv = { actor, purpose, action, now: ctx.now.getTime(), baseUrl: ctx.baseUrl };
  const { treats, pays } = baseRulesInPlay(env);
  const [consents, treated, payer] = await Promise.all([
    inForce(),
    treats ? treatedPatients(ops, ctx, actor.identities) : Promise.resolve(new Set<string>()),
    pays ? payerReach(ops, ctx, indexer, actor.reference) : Promise.resolve(undefined),
  ]);
  return { env, consents: consents.byPatient, base: payer ? { treated, payer } : { treated }, changesAt: consents.changesAt };
}

/** One patient's Consents in force, newest first. */
export async function consentsOfPatient(ops: StorageOps, ctx: RequestContext, patientId: string): Promise<Consent[]> {
  const consents = await searchAll<Consent>(ops, ctx, 'Consent', [referenceParam('patient', [`Patient/${patientId}`])]);
  return consentsInForce(consents, ctx.now.getTime());
}
