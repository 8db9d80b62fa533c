/** A cached value and the instants (epoch ms) between which it holds: from its clock reading up to, not including, `until`. */
export interface Timed<V> {
  value: V;
  until: number;
}

interface Entry<V> {
  from: number;
  loading: Promise<Timed<V>>;
}

/**
 * A bounded cache of values that hold for a while, each computed once even
 * when many requests ask for it at the same time. A value is served only to
 * a clock reading inside [from, until); outside it (or after a failed load,
 * which is never kept) it is computed again. The least recently used entry
 * goes first when the cache is full. Keys carry whatever the value depends
 * on besides the clock (a change stamp, a token).
 */
export class TimedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly maxEntries: number) {}

  async get(key: string, now: number, load: () => Promise<Timed<V>>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && now >= entry.from) {
      const cached = await entry.loading.catch(() => undefined);
      if (cached && now < cached.until) {
        this.entries.delete(key);
        this.entries.set(key, entry);
        return cached.value;
      }
    }
    return (await this.load(key, now, load)).value;
  }

  private load(key: string, now: number, load: () => Promise<Timed<V>>): Promise<Timed<V>> {
    const loading = load();
    const entry = { from: now, loading };
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    // A failure is not a value: the next request tries again.
    loading.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return loading;
  }
}
