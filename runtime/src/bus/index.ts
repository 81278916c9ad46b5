import type { Bus } from './bus.ts';
import { createMemoryBus } from './memory.ts';

export type { Bus, BusHandler } from './bus.ts';
export { busLimits } from './bus.ts';
export { createMemoryBus } from './memory.ts';

/** Opens the bus the configuration asks for: Redis when `redisUrl` is set, in-memory otherwise. */
export async function openBus(
  redisUrl: string | undefined,
  onHandlerError?: (error: unknown, topic: string) => void,
): Promise<Bus> {
  if (!redisUrl) return createMemoryBus(onHandlerError);
  const { createRedisBus } = await import('./redis.ts');
  return createRedisBus(redisUrl, onHandlerError);
}
