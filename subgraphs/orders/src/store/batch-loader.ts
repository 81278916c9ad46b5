/**
 * Per-request batching: loads requested in the same tick become one query (no N+1 when a page of
 * orders asks for its fills). Results are cached for the request's lifetime.
 */
export class BatchLoader<Key, Value> {
  readonly #load: (keys: readonly Key[]) => Promise<Map<Key, Value>>;
  readonly #cache = new Map<Key, Promise<Value | undefined>>();
  #pending: Array<{
    key: Key;
    resolve: (value: Value | undefined) => void;
    reject: (error: unknown) => void;
  }> = [];

  constructor(load: (keys: readonly Key[]) => Promise<Map<Key, Value>>) {
    this.#load = load;
  }

  load(key: Key): Promise<Value | undefined> {
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const promise = new Promise<Value | undefined>((resolve, reject) => {
      if (this.#pending.length === 0) queueMicrotask(() => void this.#flush());
      this.#pending.push({ key, resolve, reject });
    });
    this.#cache.set(key, promise);
    return promise;
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const values = await this.#load(batch.map((entry) => entry.key));
      for (const entry of batch) entry.resolve(values.get(entry.key));
    } catch (error) {
      for (const entry of batch) {
        this.#cache.delete(entry.key);
        entry.reject(error);
      }
    }
  }
}
