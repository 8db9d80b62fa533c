/**
 * Consent at delivery time: each notification is decided when it is sent,
 * as a read by the subscription's owner would be decided then (the owner's
 * scopes and the patient's Consents as they stand), never at match time.
 * The focus is read through the storage with the owner's access filter, the
 * same filter a REST read gets (security/access-filter.ts): a version the
 * owner may not see is withheld, the event still numbered but its content
 * reduced to empty. Every delivery that carries a focus is audited as a read
 * by the owner; a reduced one with outcome 4 (denied).
 */
import type { AuditEvent } from 'fhir/r4';
import type { Principal, RequestContext } from '../context';
import { systemContext } from '../context';
import type { AnyResource } from '../fhir/types';
import { accessFor, type AccessPartSource } from '../security/access-filter';
import { auditEvents, type AuditOutcome } from '../security/audit/audit-event';
import { timeOrderedId } from '../security/audit/install-audit';
import { patientsOfFactory } from '../security/audit/patients-of';
import { scopeAccessPart } from '../security/scopes/scope-access';
import type { Storage, StorageOps } from '../storage/port';
import type { NotifiedEvent } from './notification';
import type { StoredEvent } from './outbox';
import type { SubscriptionSpec } from './subscription-spec';

export interface DeliveryAccessOptions {
  storage: Storage;
  baseUrl: string;
  /** The access layers beside the scopes (consent, ownership): the same as the server's. */
  accessSources: readonly AccessPartSource[];
}

/** Where the audit says the delivery happened: the server itself, not a client address. */
const DELIVERY_ADDRESS = 'subscription-delivery';

/**
 * One event as `ctx` may see it now: its focus version read with that
 * context's access filter. A delete's focus is the version it removed: the
 * delete is shown only if that version is visible.
 */
export async function eventAsSeenBy(storage: StorageOps, ctx: RequestContext, event: StoredEvent): Promise<NotifiedEvent> {
  const { resourceType, id, versionId } = event.focus;
  const shownVersion = event.interaction === 'delete' ? versionId - 1 : versionId;
  const record = shownVersion > 0 ? await storage.vread(ctx, resourceType, id, shownVersion) : undefined;
  const visible = record?.resource !== undefined;
  return event.interaction === 'delete' || !record?.resource ? { event, visible } : { event, visible, resource: record.resource };
}

export class DeliveryAccess {
  private readonly patientsOf: (resource: AnyResource) => string[];

  constructor(private readonly options: DeliveryAccessOptions) {
    this.patientsOf = patientsOfFactory(options.baseUrl);
  }

  /** The owner's context now: its access filter built as admission builds a read's. */
  async ownerContext(owner: Principal, requestId: string): Promise<RequestContext> {
    const now = new Date();
    const access = await accessFor({ principal: owner, permission: 'r', requestId, now }, [scopeAccessPart, ...this.options.accessSources]);
    return { requestId, baseUrl: this.options.baseUrl, principal: owner, now, ...(access ? { access } : {}) };
  }

  /** The events as the owner may receive them now. No owner (a row written around the write path): nothing visible. */
  async decide(owner: Principal | undefined, events: readonly StoredEvent[], requestId: string): Promise<NotifiedEvent[]> {
    if (!owner) return events.map((event) => ({ event, visible: false }));
    const ctx = await this.ownerContext(owner, requestId);
    const decided: NotifiedEvent[] = [];
    for (const event of events) decided.push(await eventAsSeenBy(this.options.storage, ctx, event));
    return decided;
  }

  /** Audits one delivered notification: each event that carried a focus (0), or was reduced (4). */
  async audit(spec: SubscriptionSpec, owner: Principal | undefined, notified: readonly NotifiedEvent[]): Promise<void> {
    const events: AnyResource[] = [];
    for (const item of notified) {
      const carries = item.visible && (spec.content !== 'empty' || item.resource !== undefined);
      if (item.visible && !carries) continue;
      events.push(...(await this.auditOf(spec, owner, item, item.visible ? '0' : '4')));
    }
    if (events.length === 0) return;
    const { storage, baseUrl } = this.options;
    if (storage.appendRecords) await storage.appendRecords(events);
    else await storage.unitOfWork(async (tx) => {
      for (const event of events) await tx.create(systemContext(baseUrl, 'audit'), event);
    });
  }

  private async auditOf(spec: SubscriptionSpec, owner: Principal | undefined, item: NotifiedEvent, outcome: AuditOutcome): Promise<AnyResource[]> {
    const { resourceType, id } = item.event.focus;
    // The patients are those of the focus as stored (read as the server): a withheld focus still names its patient in the log.
    const stored = item.resource ?? (await this.options.storage.read(systemContext(this.options.baseUrl, 'audit'), resourceType, id))?.resource;
    const patients = stored ? this.patientsOf(stored) : [];
    const built = auditEvents({
      principal: owner ?? { kind: 'operator' },
      interaction: 'read',
      recorded: new Date(),
      outcome,
      networkAddress: DELIVERY_ADDRESS,
      baseUrl: this.options.baseUrl,
      resources: [
        { reference: `${resourceType}/${id}`, patients },
        { reference: `Subscription/${spec.id}`, patients: [] },
      ],
    });
    return built.map((event) => ({ ...withEventNumber(event, spec.id, item.event.eventNumber), id: timeOrderedId() }) as AnyResource);
  }
}

/** The subscription's entity names the event number delivered (AuditEvent.entity.detail). */
function withEventNumber(event: AuditEvent, subscriptionId: string, eventNumber: number): AuditEvent {
  return {
    ...event,
    entity: (event.entity ?? []).map((entity) =>
      entity.what?.reference === `Subscription/${subscriptionId}` ? { ...entity, detail: [{ type: 'event-number', valueString: String(eventNumber) }] } : entity,
    ),
  };
}
