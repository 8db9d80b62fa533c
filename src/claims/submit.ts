/**
 * `Claim/$submit` (claim-operation-submit.html, with Da Vinci PAS's pended
 * answer): checks, stores and queues a Claim for its insurer in one unit of
 * work, and answers with the ClaimResponse. The states and choices are in
 * docs/claims.md.
 *
 * Resubmitting a Claim with the same identifier (system and value) is
 * idempotent while it is unchanged, a correction (new Claim version, fresh
 * response, the earlier responses cancelled) when it differs, and a
 * cancellation when its status is `cancelled`. The unit is guarded by that
 * identifier, so parallel resubmissions run one after the other on every
 * engine (UnitOfWorkOptions.guard) and make one Claim.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Claim, Identifier } from 'fhir/r4';
import type { RequestContext } from '../context';
import { FhirError, notFound, unprocessable, type Issue } from '../errors';
import { resourceUrl } from '../fhir/bundle';
import type { AnyResource, Resource } from '../fhir/types';
import { replaceReferences } from '../interactions/bundle-references';
import { assertReferencesResolve } from '../interactions/reference-integrity';
import { withoutServerMeta } from '../interactions/resource-body';
import type { Services } from '../interactions/services';
import { parseSearch } from '../search/parse';
import { localReference } from '../security/consent';
import type { StorageOps } from '../storage/port';
import { planBundled, type BundledPlan } from './bundled';
import { checkClaim, CLAIM_USES, type ClaimProblem, type Lookup } from './checks';
import { autoAdjudicated, cancelledResponse, errorResponse, queuedResponse, requestOf, type StoredClaimResponse } from './claim-response';
import { readSubmission, type Submission } from './submission';
import { assertSubmitter } from './submitter';

type StoredClaim = Claim & AnyResource & { id: string };

/** What $submit answers: the ClaimResponse, and what was stored with it (for a Bundle answer). */
interface Outcome {
  response: StoredClaimResponse;
  claim?: StoredClaim;
  created: AnyResource[];
}

/** The problems that leave the Claim unstorable (invalid, or naming what does not exist): then nothing is stored. */
const UNSTORABLE = new Set(['invalid', 'patient-unknown', 'coverage-unknown', 'diagnosis-unknown', 'reference-unknown']);

/** The elements whose references the checks already report under their own codes. */
const CHECKED_PATHS = new Set(['Claim.patient', 'Claim.insurance.coverage', 'Claim.diagnosis.diagnosisReference']);

const invalidClaim = (diagnostics: string, expression: string) =>
  unprocessable([{ severity: 'error', code: 'invalid', diagnostics, expression: [expression] }]);

/** The storage's reads for the operation's own decisions: unfiltered (docs/claims.md, "What the checks disclose"). */
function internal(ctx: RequestContext): RequestContext {
  const { access: _access, consentAccess: _consent, ...rest } = ctx;
  return rest;
}

/** A Claim that cannot yield a valid ClaimResponse (its patient, use and type are required there) stores nothing: 422. */
function assertAnswerable(claim: Claim): void {
  if (typeof claim.patient?.reference !== 'string') throw invalidClaim('A Claim needs patient: the ClaimResponse names it', 'Claim.patient');
  if (!CLAIM_USES.includes(claim.use as string)) throw invalidClaim(`Claim.use must be one of ${CLAIM_USES.join(', ')}`, 'Claim.use');
  if (!claim.type) throw invalidClaim('A Claim needs type: the ClaimResponse repeats it', 'Claim.type');
}

/** The identifier resubmissions are recognised by: the first with both system and value. */
function claimKey(claim: Claim): Identifier | undefined {
  return (claim.identifier ?? []).find((i) => typeof i.system === 'string' && typeof i.value === 'string');
}

async function searchAll(ops: StorageOps, ctx: RequestContext, type: string, pairs: Array<[string, string]>, count = 100): Promise<AnyResource[]> {
  const { query } = parseSearch([type], pairs, { strict: true, baseUrl: ctx.baseUrl });
  const page = await ops.search(ctx, { ...query, count, offset: 0, total: 'none' });
  return page.records.flatMap((r) => (r.resource ? [r.resource as AnyResource] : []));
}

/** JSON with keys sorted, so that two bodies compare by content, not key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sameClaim = (a: AnyResource, b: AnyResource) =>
  canonical({ ...withoutServerMeta(a), id: undefined }) === canonical({ ...withoutServerMeta(b), id: undefined });

/** The Claim's active responses, newest first. */
function activeResponses(ops: StorageOps, ctx: RequestContext, claimId: string): Promise<AnyResource[]> {
  return searchAll(ops, ctx, 'ClaimResponse', [
    ['request', `Claim/${claimId}`],
    ['status', 'active'],
    ['_sort', '-_lastUpdated'],
  ]);
}

class ClaimUnit {
  private readonly ops: StorageOps;
  private readonly ctx: RequestContext;

  constructor(
    private readonly services: Services,
    private readonly caller: RequestContext,
    tx: StorageOps,
    private readonly plan: BundledPlan,
  ) {
    this.ops = tx;
    this.ctx = internal(caller);
  }

  /** The submitted and the stored resources, by local reference. */
  readonly lookup: Lookup = async (reference) => {
    const ref = localReference(reference, this.ctx.baseUrl);
    if (!ref) return undefined;
    const created = this.plan.created.get(ref);
    if (created) return created;
    const [type, id] = ref.split('/');
    if (!type || !id) return undefined;
    const record = await this.ops.read(this.ctx, type, id);
    return record && !record.deleted ? (record.resource as AnyResource) : undefined;
  };

  private readonly same = (reference: string | undefined, target: string) =>
    localReference(reference, this.ctx.baseUrl) === localReference(target, this.ctx.baseUrl);

  /** The Claim's insurer, else the payor of its first Coverage: ClaimResponse.insurer is required. */
  private async insurerOf(claim: Claim): Promise<string> {
    const named = localReference(claim.insurer?.reference, this.ctx.baseUrl);
    if (named) return named;
    for (const insurance of claim.insurance ?? []) {
      const coverage = (await this.lookup(insurance.coverage?.reference)) as { payor?: Array<{ reference?: string }> } | undefined;
      const payor = localReference(coverage?.payor?.[0]?.reference, this.ctx.baseUrl);
      if (payor) return payor;
    }
    throw invalidClaim('A Claim needs insurer, or a Coverage with a payor: the ClaimResponse names it', 'Claim.insurer');
  }

  /** Reference problems the checks do not already name (a careTeam Practitioner that does not exist...). */
  private async referenceProblems(claim: StoredClaim): Promise<ClaimProblem[]> {
    try {
      await assertReferencesResolve(this.ops, this.ctx, claim, this.services.referentialIntegrity, new Set(this.plan.created.keys()));
      return [];
    } catch (error) {
      if (!(error instanceof FhirError) || error.status !== 422) throw error;
      return error.issues
        // The reference check names array positions (Claim.insurance[0].coverage); the checks' paths do not.
        .filter((issue: Issue) => !CHECKED_PATHS.has((issue.expression?.[0] ?? '').replace(/\[\d+\]/g, '')))
        .map((issue) => ({ code: 'reference-unknown', text: `${issue.expression?.[0] ?? 'Claim'}: ${issue.diagnostics}` }));
    }
  }

  /** Checks the Claim and stores it with its resources and a response; only the response when it cannot be stored. */
  async submit(claim: StoredClaim, existing: StoredClaim | undefined): Promise<Outcome> {
    const insurer = await this.insurerOf(claim);
    const problems = [...(await checkClaim(this.services.validator, claim, this.lookup, this.same)), ...(await this.referenceProblems(claim))];
    const now = this.caller.now;
    if (problems.some((p) => UNSTORABLE.has(p.code))) {
      // Answered, not stored: it has no id, and names the Claim by its identifier.
      const { id: _id, ...unstored } = errorResponse(claim, insurer, now, requestOf(claim, false), problems);
      return { response: unstored as StoredClaimResponse, created: [] };
    }
    for (const resource of this.plan.created.values()) {
      await assertReferencesResolve(this.ops, this.ctx, resource, this.services.referentialIntegrity, new Set(this.plan.created.keys()));
    }
    const created = [];
    for (const resource of this.plan.created.values()) created.push((await this.ops.create(this.ctx, resource)).resource as AnyResource);
    const stored = (existing ? (await this.ops.update(this.ctx, claim)).record : await this.ops.create(this.ctx, claim)).resource as StoredClaim;
    if (existing) await this.cancelResponses(stored.id, (r) => ({ ...r, status: 'cancelled' }));
    const request = requestOf(stored, true);
    const response =
      problems.length > 0
        ? errorResponse(stored, insurer, now, request, problems)
        : this.services.claims?.autoAdjudicate
          ? autoAdjudicated(stored, insurer, now, request)
          : queuedResponse(stored, insurer, now, request);
    const written = (await this.ops.create(this.ctx, response)).resource as StoredClaimResponse;
    return { response: written, claim: stored, created };
  }

  /** Rewrites each active response of the Claim; the newest, rewritten, is answered. */
  private async cancelResponses(claimId: string, change: (r: StoredClaimResponse) => StoredClaimResponse): Promise<StoredClaimResponse | undefined> {
    const responses = (await activeResponses(this.ops, this.ctx, claimId)) as StoredClaimResponse[];
    const written: StoredClaimResponse[] = [];
    for (const response of responses)
      written.push((await this.ops.update(this.ctx, change(withoutServerMeta(response) as StoredClaimResponse))).record.resource as StoredClaimResponse);
    return written[0];
  }

  /** A cancelled Claim: stored as cancelled, its responses complete with a cancelled disposition. */
  async cancel(claim: StoredClaim, existing: StoredClaim): Promise<Outcome> {
    const stored =
      existing.status === 'cancelled'
        ? existing
        : ((await this.ops.update(this.ctx, { ...withoutServerMeta(existing), status: 'cancelled' })).record.resource as StoredClaim);
    const response = await this.cancelResponses(stored.id, cancelledResponse);
    if (response) return { response, claim: stored, created: [] };
    // Nothing left to complete (cancelled twice): the newest response as it stands.
    const [latest] = await searchAll(
      this.ops,
      this.ctx,
      'ClaimResponse',
      [
        ['request', `Claim/${stored.id}`],
        ['_sort', '-_lastUpdated'],
      ],
      1,
    );
    if (!latest) throw notFound(`No ClaimResponse answers Claim ${claim.identifier?.[0]?.value ?? stored.id}`);
    return { response: latest as StoredClaimResponse, claim: stored, created: [] };
  }

  /** The stored Claim with the same identifier, when the caller may act on it (403 for another provider's). */
  async existing(key: Identifier | undefined): Promise<StoredClaim | undefined> {
    if (!key) return undefined;
    const [found] = (await searchAll(this.ops, this.ctx, 'Claim', [['identifier', `${key.system}|${key.value}`]], 1)) as StoredClaim[];
    if (found) await assertSubmitter(this.ops, this.caller, found.provider?.reference, 'the Claim with this identifier belongs to another provider');
    return found;
  }

  /** An unchanged resubmission: the response it already has. */
  async unchanged(existing: StoredClaim): Promise<Outcome | undefined> {
    const [response] = (await activeResponses(this.ops, this.ctx, existing.id)) as StoredClaimResponse[];
    return response ? { response, claim: existing, created: [] } : undefined;
  }
}

async function submitInUnit(services: Services, ctx: RequestContext, tx: StorageOps, submission: Submission): Promise<Outcome> {
  const plan = await planBundled(tx, internal(ctx), services.validator, submission.bundled);
  const unit = new ClaimUnit(services, ctx, tx, plan);
  const key = claimKey(submission.claim);
  const existing = await unit.existing(key);
  const sent = replaceReferences(withoutServerMeta(submission.claim), plan.targets) as StoredClaim;
  if (sent.status === 'cancelled') {
    if (!existing) throw notFound(`No Claim with identifier ${key ? `${key.system}|${key.value}` : '(none given)'} to cancel`);
    return unit.cancel(sent, existing);
  }
  const claim: StoredClaim = { ...sent, id: existing?.id ?? randomUUID(), status: 'active' };
  if (existing && sameClaim(existing, claim)) {
    const answer = await unit.unchanged(existing);
    if (answer) return answer;
  }
  return unit.submit(claim, existing);
}

function answerBody(ctx: RequestContext, outcome: Outcome, asBundle: boolean): Resource {
  if (!asBundle) return outcome.response;
  const resources: AnyResource[] = [outcome.response, ...(outcome.claim ? [outcome.claim] : []), ...outcome.created];
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: ctx.now.toISOString(),
    entry: resources.map((resource) => ({
      ...(resource.id ? { fullUrl: resourceUrl(ctx.baseUrl, { resourceType: resource.resourceType, id: resource.id }) } : {}),
      resource: resource as never,
    })),
  };
  return bundle as Resource;
}

export async function submitClaim(services: Services, ctx: RequestContext, body: unknown): Promise<Resource> {
  const submission = readSubmission(body);
  assertAnswerable(submission.claim);
  await assertSubmitter(services.storage, ctx, submission.claim.provider?.reference);
  const key = claimKey(submission.claim);
  // Always guarded: resubmissions of one identifier serialize, and a standalone MongoDB runs only guarded units.
  const guard = key ? `Claim/$submit?identifier=${key.system}|${key.value}` : `Claim/$submit#${randomUUID()}`;
  const outcome = await services.storage.unitOfWork((tx) => submitInUnit(services, ctx, tx, submission), { guard });
  return answerBody(ctx, outcome, submission.asBundle);
}
