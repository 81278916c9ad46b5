import { assertPublishable, type Bus, type BusHandler } from './bus.ts';

/** Embedded adapter: synchronous fan-out inside one process. A throwing handler never affects others. */
export function createMemoryBus(
  onHandlerError: (error: unknown, topic: string) => void = () => undefined,
): Bus {
  const topics = new Map<string, Set<BusHandler>>();
  let closed = false;
  return {
    kind: 'memory',
    publish: async (topic, message) => {
      if (closed) throw new Error('Bus is closed.');
      assertPublishable(topic, message);
      const handlers = topics.get(topic);
      if (!handlers) return;
      for (const handler of [...handlers]) {
        try {
          handler(message);
        } catch (error) {
          onHandlerError(error, topic);
        }
      }
    },
    subscribe: async (topic, handler) => {
      if (closed) throw new Error('Bus is closed.');
      let handlers = topics.get(topic);
      if (!handlers) topics.set(topic, (handlers = new Set()));
      // Wrap so the same function may subscribe twice and unsubscribe each separately.
      const entry: BusHandler = (message) => handler(message);
      handlers.add(entry);
      return async () => {
        handlers.delete(entry);
        if (handlers.size === 0) topics.delete(topic);
      };
    },
    close: async () => {
      closed = true;
      topics.clear();
    },
  };
}
