/** One contract suite for the bus port, run on the in-memory adapter and on the machine's Redis. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus, type Bus } from './index.ts';

const redisUrl = process.env['REDIS_URL'] ?? (process.env['CI'] ? 'redis://127.0.0.1:6379' : undefined);
const adapters: Array<{ name: string; url: string | undefined }> = [
  { name: 'memory', url: undefined },
  ...(redisUrl ? [{ name: 'redis', url: redisUrl }] : []),
];

async function eventually(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(adapters)('bus on $name', ({ name, url }) => {
  let bus: Bus;
  let other: Bus;
  const errors: unknown[] = [];
  beforeAll(async () => {
    bus = await openBus(url, (error) => errors.push(error));
    // Fan-out across instances only exists with Redis; in memory, "another instance" is the same bus.
    other = url ? await openBus(url) : bus;
  });
  afterAll(async () => {
    await bus.close();
    if (other !== bus) await other.close();
  });

  it('reports its kind', () => {
    expect(bus.kind).toBe(name);
  });

  it('delivers in publish order to every subscriber, across instances', async () => {
    const topic = `t-${randomUUID()}`;
    const a: string[] = [];
    const b: string[] = [];
    const offA = await bus.subscribe(topic, (m) => a.push(m));
    const offB = await other.subscribe(topic, (m) => b.push(m));
    const sent = Array.from({ length: 200 }, (_, i) => JSON.stringify({ i }));
    for (const message of sent) await other.publish(topic, message);
    await eventually(() => a.length === sent.length && b.length === sent.length);
    expect(a).toEqual(sent);
    expect(b).toEqual(sent);
    await offA();
    await offB();
  });

  it('stops delivering after unsubscribe and isolates topics', async () => {
    const topic = `t-${randomUUID()}`;
    const got: string[] = [];
    const off = await bus.subscribe(topic, (m) => got.push(m));
    await bus.publish(`${topic}-other`, 'not for you');
    await bus.publish(topic, 'one');
    await eventually(() => got.length === 1);
    await off();
    await bus.publish(topic, 'two');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(got).toEqual(['one']);
  });

  it('keeps delivering to others when one handler throws', async () => {
    const topic = `t-${randomUUID()}`;
    const got: string[] = [];
    const offBad = await bus.subscribe(topic, () => {
      throw new Error('boom');
    });
    const offGood = await bus.subscribe(topic, (m) => got.push(m));
    await bus.publish(topic, 'x');
    await eventually(() => got.length === 1);
    expect(errors.length).toBeGreaterThan(0);
    await offBad();
    await offGood();
  });

  it('refuses oversized messages', async () => {
    await expect(bus.publish('t', 'x'.repeat(1_000_001))).rejects.toThrow(RangeError);
  });
});
