import type { AccessFilter, Principal, RequestContext } from '../context';
import { createIndexer } from '../search/indexer';
import type { Storage } from '../storage/port';
import { accessFor, type AccessPartSource } from './access-filter';
import { assertAuditEventWritable } from './audit/immutable';
import { assertConsentWriteAllowed, honouredByBreakGlass } from './consent';
import { assertTargetVisible } from './write-visibility';
import { assertClaimResponseWriteAllowed } from './claim-response-write';
import { authorize } from './scopes/authorize';
import type { ClassifiedRequest } from './scopes/classify';
import type { Permission } from './scopes/scope';
import { scopeAccessPart } from './scopes/scope-access';
import { checkWriteStaysInside } from './scopes/write-check';
import type { WriteRules, WriteRulesContext } from './write-rules';

/** One interaction to admit: a REST request, or one entry of a batch or transaction. */
export interface Admission {
  principal: Principal;
  classified: ClassifiedRequest;
  requestId: string;
  now: Date;
}

/**
 * The access filters of one bundle, by permission: the filter depends only
 * on the caller, the permission and the moment, so the entries of a bundle
 * share the five there can be instead of loading the caller's Consents once
 * per entry. A Consent written by the bundle therefore takes effect on the
 * next request, as it does for REST.
 */
export type AccessCache = Map<Permission, Promise<AccessFilter | undefined>>;

/**
 * The security decisions of one interaction, in one place for REST calls
 * and every bundle entry (both reach them through src/interactions/dispatch.ts): admit (AuditEvents are immutable: 405;
 * the scopes must grant the interaction: 403; the access filter of the scope
 * and consent layers) and, for writes, the check that the written resource
 * stays inside what the scopes grant (403). The admitted context carries
 * the rules that need the write's final target (the Consent write rule),
 * which the write interactions call where they store.
 */
export interface RequestGuard {
  /** The context the interaction runs with; throws 405 or 403. */
  admit(admission: Admission, cache?: AccessCache): Promise<WriteRulesContext>;
  /** Writes only: 403 when `body` (or the stored version) is outside the scopes. `storage` is the unit of work of a transaction. */
  checkWrite(ctx: RequestContext, classified: ClassifiedRequest, body: unknown, storage?: Storage): Promise<void>;
}

export interface RequestGuardOptions {
  storage: Storage;
  baseUrl: string;
  /** Further access layers (consent), ANDed with the scope layer. */
  accessSources?: readonly AccessPartSource[];
}

/**
 * `POST [base]` (a batch or transaction), as classifyRequest names it. The
 * envelope needs only an authenticated caller: each entry is admitted on
 * its own, as its own request would be, by the bundle interaction.
 */
const BUNDLE_OPERATION = 'POST /';

export function isBundleRequest(classified: ClassifiedRequest): boolean {
  return classified.interaction === 'operation' && classified.resourceType === undefined && classified.operation === BUNDLE_OPERATION;
}

const WRITES = new Set(['create', 'update', 'patch', 'delete']);

/**
 * The rules every admitted write passes where it is stored, once its target
 * is known: a hidden target answers 404 whatever the body says, then the
 * Consent and ClaimResponse write rules. That no written reference names a hidden patient is
 * the write's reference check (interactions/reference-integrity.ts), which
 * holds for users whatever REFERENTIAL_INTEGRITY says.
 */
const writeRules: WriteRules = async (ops, ctx, { kind, resourceType, id, written }) => {
  if (kind !== 'create') await assertTargetVisible(ops, ctx, resourceType, id);
  await assertConsentWriteAllowed(ops, ctx, resourceType, id, written);
  await assertClaimResponseWriteAllowed(ops, ctx, { kind, resourceType, id, ...(written ? { written } : {}) });
};

export function createRequestGuard({ storage, baseUrl, accessSources = [] }: RequestGuardOptions): RequestGuard {
  const sources = [scopeAccessPart, ...accessSources];
  const indexer = createIndexer({ baseUrl });

  const filterFor = (admission: Admission, cache?: AccessCache): Promise<AccessFilter | undefined> => {
    const { principal, classified, requestId, now } = admission;
    const request = { principal, permission: classified.accessPermission, requestId, now };
    if (!cache) return accessFor(request, sources);
    let filter = cache.get(request.permission);
    if (!filter) cache.set(request.permission, (filter = accessFor(request, sources)));
    return filter;
  };

  const admit: RequestGuard['admit'] = async (admission, cache) => {
    const { principal, classified, requestId, now } = admission;
    const otherAccess = (permission: Permission) => filterFor({ ...admission, classified: { ...classified, accessPermission: permission } }, cache);
    const consentFor = (permission: Permission) => accessFor({ principal, permission, requestId, now }, accessSources);
    const base: WriteRulesContext = { requestId, baseUrl, principal, now, writeRules, accessFor: otherAccess, consentFor, ...(honouredByBreakGlass(principal) ? { breakGlass: true } : {}) };
    if (isBundleRequest(classified)) return base;
    assertAuditEventWritable(classified);
    authorize(principal, classified.resourceType ? [classified.resourceType] : [], classified.permissions);
    const access = await filterFor(admission, cache);
    const withAccess = access ? { ...base, access } : base;
    if (principal.kind !== 'user' || !WRITES.has(classified.interaction)) return withAccess;
    const consentAccess = await consentFor(classified.accessPermission);
    return consentAccess ? { ...withAccess, consentAccess } : withAccess;
  };

  const checkWrite: RequestGuard['checkWrite'] = (ctx, classified, body, unit = storage) => checkWriteStaysInside(ctx, classified, body, unit, indexer);

  return { admit, checkWrite };
}
