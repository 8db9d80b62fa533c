/**
 * How the consent layer plugs into the access filter (src/security/access-filter.ts):
 * for a user (not the operator), its part of every request's filter. Reads
 * and searches are consent's `access` action, writes its `correct`.
 *
 * The part is compiled from storage (consent-world.ts) and cached per actor,
 * purpose and action, keyed by the change stamps of every type it is read
 * from (CONSENT_INPUT_TYPES): a write to one of them gives a new stamp, so
 * it counts on the very next request, while the AuditEvents every request
 * writes leave the cache alone. A cached part also expires when the clock
 * reaches a Consent's or role's date or period boundary.
 */
import type { Principal, RequestContext } from '../../context';
import { createIndexer } from '../../search/indexer';
import type { Storage } from '../../storage/port';
import type { AccessPartSource } from '../access-filter';
import { TimedCache, type Timed } from '../timed-cache';
import { actorKind, canBreakGlass } from './actor';
import { consentAccessPart, type ConsentAccessPart } from './consent-access';
import { CONSENT_INPUT_TYPES, consentsByPatient, loadConsentWorld, type ConsentsInForce } from './consent-world';
import { resolveActorUntil } from './resolve-actor';
import { EMERGENCY_TREAT } from './vocabulary';

/** Distinct actor, purpose and action combinations kept (an entry is a compiled filter, a few kB). */
const CACHED_PARTS = 2000;
/** One constant list: an adapter may remember its last stamp per list (the SQLite one does). */
const CONSENTS: readonly string[] = ['Consent'];

export function consentAccessSource(storage: Storage, baseUrl: string): AccessPartSource {
  const indexer = createIndexer({ baseUrl });
  const cache = new TimedCache<ConsentAccessPart>(CACHED_PARTS);
  // Every actor's part starts from the same Consents: looked up once per Consent stamp, not once per actor.
  const consents = new TimedCache<ConsentsInForce>(1);
  return async (request) => {
    const principal = request.principal;
    if (principal.kind !== 'user') return undefined;
    const ctx: RequestContext = { requestId: request.requestId, baseUrl, principal, now: request.now };
    const action = request.permission === 'r' || request.permission === 's' ? 'access' : 'correct';
    const now = request.now.getTime();
    // A storage without stamps cannot tell when the data changed: compiled afresh every time.
    const stamp = await storage.changeStamp?.(CONSENT_INPUT_TYPES);
    const inForce = async () => {
      const load = async () => {
        const found = await consentsByPatient(storage, ctx);
        return { value: found, until: found.changesAt };
      };
      return stamp === undefined ? (await load()).value : consents.get(JSON.stringify([await storage.changeStamp!(CONSENTS)]), now, load);
    };
    const compile = async (): Promise<Timed<ConsentAccessPart>> => {
      const { actor, changesAt } = await resolveActorUntil(storage, ctx, { fhirUser: principal.fhirUser });
      const world = await loadConsentWorld(storage, ctx, indexer, actor, principal.purpose, action, inForce);
      return { value: consentAccessPart(world), until: Math.min(changesAt, world.changesAt) };
    };
    if (stamp === undefined) return (await compile()).value;
    return cache.get(JSON.stringify([stamp, principal.fhirUser, principal.purpose, action]), now, compile);
  };
}

/** Requests honoured by break-the-glass (ETREAT by a clinician): their successful responses carry `X-Break-Glass: true`. */
export function honouredByBreakGlass(principal: Principal): boolean {
  if (principal.kind !== 'user' || principal.purpose !== EMERGENCY_TREAT) return false;
  return canBreakGlass({ kind: actorKind(principal.fhirUser) });
}
