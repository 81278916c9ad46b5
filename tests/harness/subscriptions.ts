/**
 * graphql-ws subscriptions for e2e tests: collects every event of one subscription so a test can
 * wait for the events it expects (with a deadline) and read them in order.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface SubscriptionRecorder<T> {
  readonly events: T[];
  readonly errors: unknown[];
  readonly completed: boolean;
  /** Resolves once `predicate(events)` holds; rejects after `timeoutMs`. */
  waitFor(predicate: (events: readonly T[]) => boolean, timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

export function wsUrlOf(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

export function connectWs(httpUrl: string, token?: string): Client {
  return createClient({
    url: wsUrlOf(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export function record<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): SubscriptionRecorder<T> {
  const events: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of listeners) listener();
  };
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) events.push(result.data as T);
        notify();
      },
      error: (error) => {
        errors.push(error);
        completed = true;
        notify();
      },
      complete: () => {
        completed = true;
        notify();
      },
    },
  );
  return {
    events,
    errors,
    get completed() {
      return completed;
    },
    waitFor: (predicate, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate(events)) return resolve();
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `subscription condition not met in ${timeoutMs} ms; events: ${JSON.stringify(events).slice(0, 2000)}; errors: ${JSON.stringify(errors)}`,
            ),
          );
        }, timeoutMs);
        const check = (): void => {
          if (predicate(events)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
      }),
    dispose: async () => {
      unsubscribe();
    },
  };
}
