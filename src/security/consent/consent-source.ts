/**
 * How the consent layer plugs into the access filter (src/security/access-filter.ts):
 * for a user (not the operator), its part of every request's filter, built
 * from storage on each request. Reads and searches are consent's `access`
 * action, writes its `correct`.
 */
import type { Principal, RequestContext } from '../../context';
import { createIndexer } from '../../search/indexer';
import type { StorageOps } from '../../storage/port';
import type { AccessPartSource } from '../access-filter';
import { actorKind, canBreakGlass } from './actor';
import { consentAccessPart } from './consent-access';
import { loadConsentWorld } from './consent-world';
import { resolveActor } from './resolve-actor';
import { EMERGENCY_TREAT } from './vocabulary';

export function consentAccessSource(storage: StorageOps, baseUrl: string): AccessPartSource {
  const indexer = createIndexer({ baseUrl });
  return async (request) => {
    const principal = request.principal;
    if (principal.kind !== 'user') return undefined;
    const ctx: RequestContext = { requestId: request.requestId, baseUrl, principal, now: request.now };
    const actor = await resolveActor(storage, ctx, { fhirUser: principal.fhirUser });
    const action = request.permission === 'r' || request.permission === 's' ? 'access' : 'correct';
    return consentAccessPart(await loadConsentWorld(storage, ctx, indexer, actor, principal.purpose, action));
  };
}

/** Requests honoured by break-the-glass (ETREAT by a clinician): their successful responses carry `X-Break-Glass: true`. */
export function honouredByBreakGlass(principal: Principal): boolean {
  if (principal.kind !== 'user' || principal.purpose !== EMERGENCY_TREAT) return false;
  return canBreakGlass({ kind: actorKind(principal.fhirUser) });
}
