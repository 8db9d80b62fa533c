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

/**
 * One change as every subscription is matched against it: what does not
 * depend on the subscription (the version's index entries, whether a topic
 * fires) is worked out once per change, not once per subscription.
 */
export class ChangeMatch {
  private entries: ReturnType<Indexer> | undefined;
  private readonly fired = new Map<string, boolean>();
  readonly interaction: TriggerInteraction;

  constructor(
    readonly change: CommittedChange,
    private readonly indexer: Indexer,
  ) {
    this.interaction = interactionOf(change);
  }

  /** The indexer, remembering the one version a change is matched on. */
  readonly index: Indexer = (resource) => (this.entries ??= this.indexer(resource));

  fires(topic: NonNullable<SubscriptionSpec['topic']>): boolean {
    let fired = this.fired.get(topic.url);
    if (fired === undefined) {
      const { change } = this;
      this.fired.set(topic.url, (fired = topicFires(topic, this.interaction, change.resourceType, change.before, change.after)));
    }
    return fired;
  }
}

/** Whether the change notifies `spec`. `ctx` is the system context (criteria are the subscription's, access is decided at delivery). */
export async function notifies(spec: SubscriptionSpec, match: ChangeMatch, tx: StorageOps, ctx: RequestContext): Promise<boolean> {
  const { change } = match;
  if (!spec.types.includes(change.resourceType)) return false;
  if (spec.topic && !match.fires(spec.topic)) return false;
  const version = change.after ?? change.before;
  if (!version) return false;
  const criteria = spec.criteria.filter((criterion) => criterion.resourceType === change.resourceType);
  for (const criterion of criteria) {
    if (!(await meets(criterion, version, change.after !== undefined, tx, ctx, match.index))) return false;
  }
  return true;
}

/**
 * Which subscriptions can be notified by a change, without trying all of
 * them: most criteria pin a reference or a code (`Encounter?patient=Patient/1`),
 * so a subscription is filed under those values, and a change is matched only
 * against the subscriptions filed under its own index entries' values, plus
 * those with nothing to file under (matched against every change of their
 * types). The candidates are a superset; `notifies` decides each exactly.
 */
export class CandidateIndex {
  /** `type|param|value` → the subscriptions whose criteria on the type require that value. */
  private readonly keyed = new Map<string, string[]>();
  /** type → the subscriptions tried on every change of the type. */
  private readonly scanned = new Map<string, string[]>();

  constructor(specs: Iterable<SubscriptionSpec>) {
    for (const spec of specs) {
      for (const type of spec.types) {
        const keys = filingKeys(type, spec.criteria.filter((criterion) => criterion.resourceType === type));
        if (keys === undefined) push(this.scanned, type, spec.id);
        else for (const key of keys) push(this.keyed, key, spec.id);
      }
    }
  }

  /** The subscriptions the change can notify, each once. */
  candidates(match: ChangeMatch): Set<string> {
    const { resourceType } = match.change;
    const found = new Set(this.scanned.get(resourceType) ?? []);
    const version = match.change.after ?? match.change.before;
    if (!version || this.keyed.size === 0) return found;
    const add = (key: string) => {
      for (const id of this.keyed.get(key) ?? []) found.add(id);
    };
    add(`${resourceType}|_id|${version.id ?? ''}`);
    for (const entry of match.index(version)) {
      if (entry.kind === 'reference' && entry.ref !== null) add(`${resourceType}|${entry.param}|${entry.ref}`);
      else if (entry.kind === 'token' && entry.code !== null) add(`${resourceType}|${entry.param}|${entry.code}`);
    }
    return found;
  }
}

function push(map: Map<string, string[]>, key: string, id: string): void {
  const list = map.get(key);
  if (list) list.push(id);
  else map.set(key, [id]);
}

/**
 * The keys of the first condition, among the (ANDed) criteria, that a match
 * requires one of its values for: a plain reference (`ref`, no version), a
 * plain token with a code, or `_id`, in criteria the in-memory matcher
 * decides. Undefined when there is none.
 */
function filingKeys(type: string, criteria: readonly Criterion[]): string[] | undefined {
  for (const criterion of criteria) {
    // Only where the in-memory matcher decides: its comparison is the exact one the keys stand for.
    if (!coveredInMemory(criterion.query.where)) continue;
    for (const condition of criterion.query.where) {
      if (condition.kind !== 'param' || condition.modifier !== undefined || condition.values.length === 0) continue;
      const values = condition.values.map((value) => {
        if (condition.code === '_id') return value.kind === 'token' ? value.code : undefined;
        if (condition.type === 'reference') return value.kind === 'reference' && value.version === undefined ? value.ref : undefined;
        if (condition.type === 'token') return value.kind === 'token' ? value.code : undefined;
        return undefined;
      });
      if (values.every((value): value is string => value !== undefined)) return values.map((value) => `${type}|${condition.code}|${value}`);
    }
  }
  return undefined;
}
