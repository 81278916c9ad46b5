import { Redis } from 'ioredis';
import { assertPublishable, type Bus, type BusHandler } from './bus.ts';

/**
 * Redis adapter: one publishing connection and one subscriber connection per process (Redis puts a
 * subscribed connection in a special mode). Local handlers are multiplexed over one SUBSCRIBE per topic.
 */
export async function createRedisBus(
  redisUrl: string,
  onHandlerError: (error: unknown, topic: string) => void = () => undefined,
): Promise<Bus> {
  const options = { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true } as const;
  const publisher = new Redis(redisUrl, options);
  const subscriber = new Redis(redisUrl, options);
  await Promise.all([publisher.connect(), subscriber.connect()]);
  const topics = new Map<string, Set<BusHandler>>();
  subscriber.on('message', (topic: string, message: string) => {
    const handlers = topics.get(topic);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      try {
        handler(message);
      } catch (error) {
        onHandlerError(error, topic);
      }
    }
  });
  return {
    kind: 'redis',
    publish: async (topic, message) => {
      assertPublishable(topic, message);
      await publisher.publish(topic, message);
    },
    subscribe: async (topic, handler) => {
      let handlers = topics.get(topic);
      if (!handlers) {
        topics.set(topic, (handlers = new Set()));
        await subscriber.subscribe(topic);
      }
      const entry: BusHandler = (message) => handler(message);
      handlers.add(entry);
      return async () => {
        handlers.delete(entry);
        if (handlers.size === 0 && topics.get(topic) === handlers) {
          topics.delete(topic);
          await subscriber.unsubscribe(topic);
        }
      };
    },
    close: async () => {
      topics.clear();
      await Promise.all([publisher.quit().catch(() => undefined), subscriber.quit().catch(() => undefined)]);
    },
  };
}
