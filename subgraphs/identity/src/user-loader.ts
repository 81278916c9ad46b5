/**
 * Per-request batching of user look-ups: the gateway resolves many `User` references in one
 * `_entities` call, and Apollo calls `__resolveReference` for each; ids requested in the same tick
 * are fetched with one query.
 */
import type { Queryable } from '@graphex/runtime';
import { isUserId, type UserRecord } from './domain/user.ts';
import { findUsersByIds } from './store/users.ts';

/** Upper bound on ids per query; a larger batch is split. */
const maxBatchSize = 500;

export type UserLoader = (id: string) => Promise<UserRecord | null>;

export function createUserLoader(db: Queryable): UserLoader {
  const cache = new Map<string, Promise<UserRecord | null>>();
  let pending: Map<string, PromiseWithResolvers<UserRecord | null>> | null = null;

  const flush = async (batch: Map<string, PromiseWithResolvers<UserRecord | null>>): Promise<void> => {
    const ids = [...batch.keys()];
    try {
      for (let start = 0; start < ids.length; start += maxBatchSize) {
        const chunk = ids.slice(start, start + maxBatchSize);
        const found = new Map((await findUsersByIds(db, chunk)).map((user) => [user.id, user]));
        for (const id of chunk) batch.get(id)!.resolve(found.get(id) ?? null);
      }
    } catch (error) {
      for (const deferred of batch.values()) deferred.reject(error);
    }
  };

  return (id) => {
    // Ids are matched case-sensitively against what Postgres returns (lower-case uuids).
    const key = id.toLowerCase();
    if (!isUserId(key)) return Promise.resolve(null);
    const cached = cache.get(key);
    if (cached) return cached;
    if (!pending) {
      const batch = new Map<string, PromiseWithResolvers<UserRecord | null>>();
      pending = batch;
      queueMicrotask(() => {
        pending = null;
        void flush(batch);
      });
    }
    const deferred = Promise.withResolvers<UserRecord | null>();
    pending.set(key, deferred);
    cache.set(key, deferred.promise);
    return deferred.promise;
  };
}
