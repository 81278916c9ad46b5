/**
 * Pub/sub bus port: how events reach subscription publishers, within one process (embedded) or
 * across many gateway/subgraph instances (Redis). Delivery is at-most-once and in publish order per
 * topic for a connected subscriber; consumers that must not miss anything (projections) read the
 * core's event log by sequence instead, and use the bus only as a wake-up.
 */

export type BusHandler = (message: string) => void;

export interface Bus {
  readonly kind: 'memory' | 'redis';
  /** Publishes a message (a JSON string, by convention) to every current subscriber of `topic`. */
  publish(topic: string, message: string): Promise<void>;
  /** Subscribes to `topic`; resolves once the subscription is active. Returns the unsubscribe. */
  subscribe(topic: string, handler: BusHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Limits (TigerBeetle style): a topic name and a message have a maximum size. */
export const busLimits = { topicBytesMax: 200, messageBytesMax: 1_000_000 } as const;

export function assertPublishable(topic: string, message: string): void {
  if (topic.length === 0 || Buffer.byteLength(topic) > busLimits.topicBytesMax) {
    throw new RangeError(`Bus topic must be 1..${busLimits.topicBytesMax} bytes.`);
  }
  if (Buffer.byteLength(message) > busLimits.messageBytesMax) {
    throw new RangeError(`Bus message exceeds ${busLimits.messageBytesMax} bytes on topic ${topic}.`);
  }
}
