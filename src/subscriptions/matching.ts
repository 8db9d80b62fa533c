/**
 * Which subscriptions a committed change notifies. Decided inside the
 * change's unit of work (outbox.ts writes the events there), from the
 * change alone and the unit's own reads:
 *
 * - the R4 form: the new version matches the criteria; a delete notifies
 *   when the version it removed matched (R4 subscription.html);
 * - the backport form: the topic fires on the transition previous → current
 *   (topics.ts), and the new version (for a delete, the removed one) meets
 *   every filter of its type.
 *
 * A version is matched in memory with the access layer's matcher when the
 * criteria use only what it covers (tokens, references, `_id`); otherwise
 * with the storage's own search, inside the unit (which sees the uncommitted
 * write), restricted to the resource's id. A removed version is not stored
 * any more, so criteria the matcher does not cover never match a delete.
 */
import type { RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { Indexer } from '../search/index-entry';
import type { Condition } from '../search/query';
import { coveredInMemory, matchesConditions } from '../security/scopes/match-conditions';
import type { CommittedChange, StorageOps } from '../storage/port';
import type { Criterion, SubscriptionSpec } from './subscription-spec';
import { topicFires, type TriggerInteraction } from './topics';

export function interactionOf(change: CommittedChange): TriggerInteraction {
  if (!change.after) return 'delete';
  return change.before ? 'update' : 'create';
}

async function meets(criterion: Criterion, resource: AnyResource, stored: boolean, tx: StorageOps, ctx: RequestContext, indexer: Indexer): Promise<boolean> {
  const where = criterion.query.where;
  if (where.length === 0) return true;
  if (coveredInMemory(where)) return matchesConditions(where, resource, indexer(resource));
  if (!stored) return false;
  const idCondition: Condition = { kind: 'param', code: '_id', type: 'token', values: [{ kind: 'token', code: resource.id ?? '' }] };
  const found = await tx.search(ctx, { ...criterion.query, where: [...where, idCondition], count: 1, offset: 0, total: 'none', include: [], revinclude: [] });
  return found.records.length > 0;
}

/** Whether `change` notifies `spec`. `ctx` is the system context (criteria are the subscription's, access is decided at delivery). */
export async function notifies(spec: SubscriptionSpec, change: CommittedChange, tx: StorageOps, ctx: RequestContext, indexer: Indexer): Promise<boolean> {
  if (!spec.types.includes(change.resourceType)) return false;
  const interaction = interactionOf(change);
  if (spec.topic && !topicFires(spec.topic, interaction, change.resourceType, change.before, change.after)) return false;
  const version = change.after ?? change.before;
  if (!version) return false;
  const criteria = spec.criteria.filter((criterion) => criterion.resourceType === change.resourceType);
  for (const criterion of criteria) {
    if (!(await meets(criterion, version, change.after !== undefined, tx, ctx, indexer))) return false;
  }
  return true;
}
