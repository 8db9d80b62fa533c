/**
 * Per resource type, how many committed writes this process has made: the
 * change stamp of an adapter that is the only writer of its database (the
 * SQLite file belongs to one server process, see sqlite-storage.ts).
 */
export class ChangeCounters {
  private readonly counts = new Map<string, number>();

  /** Called once a write to `resourceType` has committed. */
  committed(resourceType: string): void {
    this.counts.set(resourceType, (this.counts.get(resourceType) ?? 0) + 1);
  }

  stamp(resourceTypes: readonly string[]): string {
    return resourceTypes.map((type) => this.counts.get(type) ?? 0).join('.');
  }
}
