import type { RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { StorageOps } from '../storage/port';

/** One write about to be stored: a create, update or patch carries the new body, a delete none. */
export interface WriteChange {
  /** A create has no stored target yet; an update (or patch) and a delete do. */
  readonly kind: 'create' | 'update' | 'delete';
  readonly resourceType: string;
  readonly id: string;
  readonly written?: AnyResource;
}

/** Throws (403) when the change may not be made; `ops` reads what is stored, inside the write's unit of work. */
export type WriteRules = (ops: StorageOps, ctx: RequestContext, change: WriteChange) => Promise<void>;

/**
 * A context admission made for a write: it carries the rules the write must
 * pass once its target is known, set by admission (request-guard.ts) and
 * called by the write interactions with the unit of work they write in,
 * just before they store. A context without them (internal work) has none
 * to pass. Declared here, not on RequestContext, because the rules read the
 * storage, a floor above the context's.
 */
export type WriteRulesContext = RequestContext & { readonly writeRules?: WriteRules };
