/**
 * The snapshot as of transactionTime for the resources that changed after it
 * (export.html "transactionTime": the export holds the state as of that
 * instant). A search sees current rows only: a resource deleted after the
 * kick-off is not found at all, and one updated after it is found, or not,
 * by its new version. So the runner leaves every resource changed after
 * transactionTime out of its searches and decides it here instead: its
 * version as of transactionTime, read from history, is matched in memory
 * against the job's criteria and the principal's access filter.
 *
 * The in-memory matcher covers what the access layers produce (tokens,
 * references, `_id`: match-conditions.ts). A criterion it does not cover
 * leaves the verdict open; the runner then leaves the resource out and says
 * so in the manifest's `error` file, so that nothing the filter would hide
 * is ever exported.
 */
import { systemContext } from '../context';
import type { AnyResource } from '../fhir/types';
import { patientCompartment } from '../fhir/definitions';
import type { Indexer } from '../search/index-entry';
import { patientsInCompartment } from '../search/compartment';
import type { Condition } from '../search/query';
import { coveredInMemory, matchesConditions } from '../security/scopes/match-conditions';
import type { Storage } from '../storage/port';

export interface ResourceRef {
  resourceType: string;
  id: string;
}

/** true, false, or undefined when the in-memory matcher cannot decide. */
export type Verdict = boolean | undefined;

export class SnapshotChanges {
  constructor(
    private readonly storage: Storage,
    private readonly baseUrl: string,
    private readonly transactionTime: string,
    private readonly indexer: Indexer,
    private readonly pageSize: number,
  ) {}

  /** Is this current version newer than the snapshot (so that it is decided here, not by the search)? */
  isNewer(current: AnyResource): boolean {
    return (current.meta?.lastUpdated ?? '') > this.transactionTime;
  }

  /**
   * The resources of `types` with a version committed after transactionTime
   * and up to `until` (the start of this pass: what the searches skipped was
   * changed before they read it). Read without an access filter: a deleted
   * resource has no current row for a filter to meet; the filter is applied
   * in memory to the version that counts (`decide`).
   */
  async changed(types: ReadonlySet<string>, until: string, yieldNow: () => Promise<boolean>): Promise<ResourceRef[] | undefined> {
    const ctx = systemContext(this.baseUrl, 'export-snapshot');
    const found = new Map<string, ResourceRef>();
    for (let offset = 0; ; offset += this.pageSize) {
      const page = await this.storage.history(ctx, { since: this.transactionTime, at: until, count: this.pageSize, offset });
      for (const record of page.records) {
        if (record.lastUpdated <= this.transactionTime || !types.has(record.resourceType)) continue;
        found.set(`${record.resourceType}/${record.id}`, { resourceType: record.resourceType, id: record.id });
      }
      if (page.records.length < this.pageSize) break;
      if (!(await yieldNow())) return undefined;
    }
    return [...found.values()];
  }

  /** The version as of transactionTime; undefined when the resource did not exist then or was deleted. */
  async versionThen(ref: ResourceRef): Promise<AnyResource | undefined> {
    const ctx = systemContext(this.baseUrl, 'export-snapshot');
    const page = await this.storage.history(ctx, { ...ref, at: this.transactionTime, count: 1, offset: 0 });
    const then = page.records[0];
    return then && !then.deleted ? then.resource : undefined;
  }

  /** Whether `resource` meets every condition (criteria and access filter ANDed). */
  decide(resource: AnyResource, conditions: readonly Condition[]): Verdict {
    if (!coveredInMemory(conditions)) return undefined;
    return matchesConditions(conditions, resource, this.indexer(resource));
  }

  /** The patients (ids) whose compartment holds `resource`, by the CompartmentDefinition's parameters. */
  compartmentsOf(resource: AnyResource): string[] {
    return patientsInCompartment(resource.resourceType, resource.id, this.indexer(resource), patientCompartment().get(resource.resourceType) ?? []);
  }
}

/** Several verdicts ORed: true if one is; open if none is and one is open. */
export function anyOf(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes(true)) return true;
  return verdicts.includes(undefined) ? undefined : false;
}
