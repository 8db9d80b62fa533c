/**
 * The delivery engine: one for both forms and every channel.
 *
 * - Matching and the outbox run in the change's unit of work (a commit
 *   listener's `inside`): a committed change always has its events, a
 *   rolled-back one never does (outbox.ts).
 * - Delivery runs beside the request path: the `after` listener only wakes
 *   the workers; each subscription has its own worker, sending its events
 *   in order, one at a time, each retried with exponential backoff
 *   (retryBaseMs, doubling, maxAttempts attempts in all) before the
 *   subscription goes to `error`. A slow or dead endpoint holds up only its
 *   own subscription, never a write or another subscription.
 * - On start every subscription's worker is woken: what a crash left
 *   undelivered (after its cursor) is sent then.
 */
import type { Subscription } from 'fhir/r4';
import { systemContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { Indexer } from '../search/index-entry';
import type { AccessPartSource } from '../security/access-filter';
import type { CommittedChange, Storage, StorageOps, Unsubscribe } from '../storage/port';
import { DeliveryAccess } from './delivery-access';
import type { EndpointPolicy } from './endpoint-policy';
import { CandidateIndex, ChangeMatch, notifies } from './matching';
import { appendEvent, deliveredUpTo, lastEventNumber, markDelivered, readEvent } from './outbox';
import { notificationBundle, type NotificationType, type NotifiedEvent } from './notification';
import { ownerOf } from './owner';
import { postNotification } from './rest-hook';
import { subscriptionSpec, type SubscriptionSpec } from './subscription-spec';
import { publishTopics } from './topic-basic';

export interface EngineOptions {
  storage: Storage;
  baseUrl: string;
  indexer: Indexer;
  policy: EndpointPolicy;
  /** Attempts per notification, the first included. */
  maxAttempts: number;
  /** The first retry's delay; each further one doubles it. */
  retryBaseMs: number;
  /** A rest-hook POST's own time limit when the subscription sets no backport-timeout. */
  timeoutMs: number;
  accessSources: readonly AccessPartSource[];
  /** Operational messages: never a body or a header (they may hold patient data or secrets). */
  log: (message: string) => void;
}

/** A notification ready for a channel. */
export interface Outgoing {
  spec: SubscriptionSpec;
  /** The rest-hook body (undefined: an empty POST). */
  body: string | undefined;
}

/** A channel other than rest-hook (the WebSocket channel, websocket-channel.ts) registers here. */
export interface ChannelSink {
  /** Sends to every bound connection; false when none is bound (the event waits). */
  send(spec: SubscriptionSpec, bundle: string, type: NotificationType): Promise<boolean>;
}

interface Entry {
  resource: Subscription;
  spec: SubscriptionSpec;
}

const LIVE = new Set(['requested', 'active', 'error']);
/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SubscriptionEngine {
  private readonly entries = new Map<string, Entry>();
  private readonly workers = new Map<string, Worker>();
  private readonly heartbeats = new Map<string, NodeJS.Timeout>();
  /** A timer at each live subscription's `end`: it goes off then, whether or not anything is written. */
  private readonly endings = new Map<string, NodeJS.Timeout>();
  private readonly access: DeliveryAccess;
  /** The live subscriptions, filed by the values their criteria require (rebuilt when a subscription changes). */
  private candidates = new CandidateIndex([]);
  /** The subscriptions each change of a unit gave an event, from `inside` to `after` (the same change objects). */
  private readonly notifiedBy = new WeakMap<CommittedChange, string[]>();
  private stopOutbox: Unsubscribe | undefined;
  private stopWatch: Unsubscribe | undefined;
  private watchedTypes = '';
  private stopped = false;
  websocket: ChannelSink | undefined;

  constructor(readonly options: EngineOptions) {
    this.access = new DeliveryAccess({ storage: options.storage, baseUrl: options.baseUrl, accessSources: options.accessSources });
  }

  async start(): Promise<void> {
    const { storage } = this.options;
    if (!storage.onCommit) throw new Error('Subscriptions need a storage with commit hooks');
    await publishTopics(storage, this.options.baseUrl);
    this.stopWatch = storage.onCommit({ types: ['Subscription'], after: (changes) => this.subscriptionsChanged(changes) });
    for (const resource of await this.loadAll()) this.remember(resource);
    this.rewatch();
    for (const id of this.entries.keys()) this.kick(id);
  }

  /** Stops delivering; resolves once no pass is running (the storage may then close). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopOutbox?.();
    this.stopWatch?.();
    for (const timer of [...this.heartbeats.values(), ...this.endings.values()]) clearTimeout(timer);
    await Promise.all([...this.workers.values()].map((worker) => worker.stop()));
  }

  /** The parsed subscription, as delivery sees it (for $status and the WebSocket channel). */
  entry(id: string): { resource: Subscription; spec: SubscriptionSpec } | undefined {
    return this.entries.get(id);
  }

  /** The handshake Bundle a websocket binding starts with (R5 subscriptions.html#websockets), as serialized for the channel. */
  async handshakeBundle(id: string): Promise<string | undefined> {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const eventsSinceStart = await lastEventNumber(this.options.storage, this.options.baseUrl, id);
    return JSON.stringify(notificationBundle(this.options.baseUrl, { spec: entry.spec, type: 'handshake', status: entry.spec.status, eventsSinceStart }, []));
  }

  kick(id: string): void {
    if (this.stopped) return;
    let worker = this.workers.get(id);
    if (!worker) this.workers.set(id, (worker = new Worker(() => this.pass(id))));
    worker.kick();
  }

  /** A worker's pass, then the heartbeat timer restarts: it fires only after a whole idle period. */
  private async pass(id: string): Promise<void> {
    clearTimeout(this.heartbeats.get(id));
    this.heartbeats.delete(id);
    await this.step(id);
    const entry = this.entries.get(id);
    const seconds = entry?.spec.heartbeatSeconds;
    if (!entry || !seconds || entry.spec.status !== 'active' || this.stopped) return;
    const timer = setTimeout(() => this.workers.get(id)?.kick(true), seconds * 1000);
    timer.unref();
    this.heartbeats.set(id, timer);
  }

  /** A heartbeat (backport-heartbeat-period): one attempt; a missed one is not retried, the next period sends another. */
  private async heartbeat(entry: Entry): Promise<void> {
    await this.send(entry, 'heartbeat', async () => [], 1);
  }

  private async loadAll(): Promise<AnyResource[]> {
    const ctx = systemContext(this.options.baseUrl, 'subscriptions');
    const found: AnyResource[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await this.options.storage.search(ctx, { types: ['Subscription'], where: [], sort: [{ code: '_id', descending: false, type: 'token' }], count: 500, offset, total: 'none' });
      for (const record of page.records) if (record.resource) found.push(record.resource);
      if (page.records.length < 500) return found;
    }
  }

  private remember(resource: AnyResource): void {
    const subscription = resource as unknown as Subscription;
    try {
      const spec = subscriptionSpec(subscription, this.options.baseUrl);
      this.entries.set(spec.id, { resource: subscription, spec });
      this.scheduleEnd(spec);
    } catch (error) {
      // A subscription stored before a rule existed: kept out of delivery, said once.
      this.entries.delete(subscription.id ?? '');
      this.options.log(`Subscription/${subscription.id ?? ''} cannot be delivered: ${(error as Error).message}`);
    }
  }

  /** The pass after `end` sets the subscription off (step); timers beyond setTimeout's range are set again when it fires. */
  private scheduleEnd(spec: SubscriptionSpec): void {
    clearTimeout(this.endings.get(spec.id));
    this.endings.delete(spec.id);
    if (spec.end === undefined || spec.status === 'off') return;
    const wait = Math.max(0, Date.parse(spec.end) - Date.now());
    const timer = setTimeout(() => {
      this.endings.delete(spec.id);
      const current = this.entries.get(spec.id);
      if (current && wait > MAX_TIMER_MS) this.scheduleEnd(current.spec);
      else this.kick(spec.id);
    }, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
    this.endings.set(spec.id, timer);
  }

  private subscriptionsChanged(changes: readonly CommittedChange[]): void {
    for (const change of changes) {
      if (change.after) this.remember(change.after);
      else {
        this.entries.delete(change.id);
        clearTimeout(this.endings.get(change.id));
        this.endings.delete(change.id);
        void this.workers.get(change.id)?.stop();
        this.workers.delete(change.id);
      }
    }
    this.rewatch();
    for (const change of changes) if (change.after) this.kick(change.id);
  }

  /** The outbox listener watches exactly the types some live subscription notifies on: other writes keep their fast path. */
  private rewatch(): void {
    const live = [...this.entries.values()].filter((entry) => LIVE.has(entry.spec.status));
    this.candidates = new CandidateIndex(live.map((entry) => entry.spec));
    const types = [...new Set(live.flatMap((entry) => entry.spec.types))].sort();
    const key = types.join(',');
    if (key === this.watchedTypes && (this.stopOutbox !== undefined || types.length === 0)) return;
    this.watchedTypes = key;
    this.stopOutbox?.();
    this.stopOutbox = undefined;
    if (types.length === 0) return;
    this.stopOutbox = this.options.storage.onCommit?.({
      types,
      inside: (changes, tx) => this.writeEvents(changes, tx),
      after: (changes) => this.wake(changes),
    });
  }

  private async writeEvents(changes: readonly CommittedChange[], tx: StorageOps): Promise<void> {
    const ctx = systemContext(this.options.baseUrl, 'subscriptions');
    const timestamp = new Date().toISOString();
    for (const change of changes) {
      const match = new ChangeMatch(change, this.options.indexer);
      const notified: string[] = [];
      for (const id of this.candidates.candidates(match)) {
        const entry = this.entries.get(id);
        if (!entry || !LIVE.has(entry.spec.status) || ended(entry.spec)) continue;
        if (!(await notifies(entry.spec, match, tx, ctx))) continue;
        await appendEvent(tx, ctx, entry.spec.id, {
          timestamp,
          focus: { resourceType: change.resourceType, id: change.id, versionId: change.versionId },
          interaction: match.interaction,
        });
        notified.push(entry.spec.id);
      }
      // A MongoDB transaction run again records new change objects: `after` is shown those of the attempt that committed.
      this.notifiedBy.set(change, notified);
    }
  }

  /** Once committed, only the subscriptions the change gave an event wake (an aborted unit's list is never read, and is collected with its change). */
  private wake(changes: readonly CommittedChange[]): void {
    for (const change of changes) for (const id of this.notifiedBy.get(change) ?? []) this.kick(id);
  }

  /**
   * One pass of a subscription's worker: handshake, or every undelivered event in order.
   * Each notification carries one event, so `backport-max-count` (a positiveInt) is always
   * honoured, a backlog included: never batch here without capping at spec.maxCount.
   */
  private async step(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry || this.stopped) return;
    const { spec } = entry;
    if (ended(spec) && spec.status !== 'off') return this.setStatus(id, 'off');
    if (spec.status === 'requested' && spec.channel.type === 'rest-hook') return this.handshake(entry);
    if (spec.status !== 'active') return;
    if (this.workers.get(id)?.takeHeartbeat()) await this.heartbeat(entry);
    const { storage, baseUrl } = this.options;
    const last = await lastEventNumber(storage, baseUrl, id);
    for (let number = (await deliveredUpTo(storage, baseUrl, id)) + 1; number <= last; number += 1) {
      const current = this.entries.get(id);
      if (!current || current.spec.status !== 'active' || this.stopped) return;
      const event = await readEvent(storage, baseUrl, id, number);
      if (!event) continue;
      const owner = ownerOf(current.resource as unknown as AnyResource, baseUrl);
      // Decided again at every attempt: a Consent revoked while a retry waits counts for the retry.
      let notified: NotifiedEvent[] = [];
      const outcome = await this.send(current, 'event-notification', async () => {
        notified = await this.access.decide(owner, [event], `subscription-${id}-${number}`);
        return notified;
      });
      if (outcome === 'waiting') return;
      if (outcome !== 'ok') return this.setStatus(id, 'error', outcome);
      await this.access.audit(current.spec, owner, notified);
      await markDelivered(storage, baseUrl, id, number);
    }
  }

  private async handshake(entry: Entry): Promise<void> {
    const outcome = await this.send(entry, 'handshake', async () => []);
    if (outcome === 'ok') return this.setStatus(entry.spec.id, 'active');
    if (outcome !== 'waiting') return this.setStatus(entry.spec.id, 'error', `The handshake failed: ${outcome}`);
  }

  /** Sends with retries: 'ok', 'waiting' (superseded or stopped), or the last failure's reason. `decide` gives the events as the owner may see them now. */
  private async send(
    entry: Entry,
    type: NotificationType,
    decide: () => Promise<NotifiedEvent[]>,
    maxAttempts = this.options.maxAttempts,
  ): Promise<string> {
    const { spec } = entry;
    const timeoutMs = (spec.timeoutSeconds ?? 0) * 1000 || this.options.timeoutMs;
    let reason = 'no attempt';
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      if (this.stopped || this.entries.get(spec.id) !== entry) return 'waiting';
      const notified = await decide();
      const eventsSinceStart = await lastEventNumber(this.options.storage, this.options.baseUrl, spec.id);
      const bundle = JSON.stringify(notificationBundle(this.options.baseUrl, { spec, type, status: spec.status, eventsSinceStart }, notified));
      if (spec.channel.type === 'websocket') return (await this.websocket?.send(spec, bundle, type)) ? 'ok' : 'waiting';
      const body = spec.form === 'backport' || type !== 'event-notification' ? bundle : r4Body(spec, notified);
      const result = await postNotification(this.options.policy, spec.channel.endpoint ?? '', spec.channel.headers, body, timeoutMs);
      if (result.ok) return 'ok';
      reason = result.reason ?? 'failed';
      if (attempt < maxAttempts) await this.workers.get(spec.id)?.sleep(this.options.retryBaseMs * 2 ** (attempt - 1));
    }
    return `${reason} (after ${maxAttempts} attempts)`;
  }

  /** The server's own status change, written against the version it read (a client's concurrent update wins). */
  private async setStatus(id: string, status: Subscription['status'], error?: string): Promise<void> {
    const ctx = systemContext(this.options.baseUrl, 'subscriptions');
    for (let tries = 0; tries < 3; tries += 1) {
      const record = await this.options.storage.read(ctx, 'Subscription', id);
      const stored = record?.resource as unknown as Subscription | undefined;
      if (!record || !stored || record.deleted) return;
      const { error: _previous, ...rest } = stored;
      const next = { ...rest, status, ...(error ? { error } : {}) } as unknown as AnyResource;
      try {
        await this.options.storage.update(ctx, next, { expectedVersion: record.versionId });
        if (error) this.options.log(`Subscription/${id} is in error: ${error}`);
        return;
      } catch (failure) {
        if ((failure as { status?: number }).status !== 412) throw failure;
      }
    }
  }
}

function ended(spec: SubscriptionSpec): boolean {
  return spec.end !== undefined && Date.parse(spec.end) <= Date.now();
}

/** The R4 form: the resource itself for `application/fhir+json`, else (or when withheld, or a delete) an empty body. */
function r4Body(spec: SubscriptionSpec, notified: NotifiedEvent[]): string | undefined {
  const resource = notified[0]?.resource;
  return spec.content === 'full-resource' && notified[0]?.visible && resource ? JSON.stringify(resource) : undefined;
}

/** Runs a subscription's passes one at a time; a kick during a pass runs one more. */
class Worker {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private heartbeatDue = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeSleep: (() => void) | undefined;

  constructor(private readonly pass: () => Promise<void>) {}

  /** `heartbeat`: the idle period ran out; the next pass sends a heartbeat first. */
  kick(heartbeat = false): void {
    if (this.stopped) return;
    if (heartbeat) this.heartbeatDue = true;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (error) {
        process.emitWarning(`A subscription delivery pass failed: ${(error as Error).message}`);
      }
    } while (this.again && !this.stopped);
    this.running = undefined;
  }

  takeHeartbeat(): boolean {
    const due = this.heartbeatDue;
    this.heartbeatDue = false;
    return due;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeSleep = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wakeSleep?.();
    return this.running ?? Promise.resolve();
  }
}
