import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLinger } from './linger.ts';

describe('linger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds until lingerMs after the batch began, counting the time the batch took', async () => {
    vi.useFakeTimers();
    const linger = createLinger(50);
    const began = performance.now();
    await vi.advanceTimersByTimeAsync(20); // the batch itself took 20 ms
    let released = false;
    void linger.hold(began).then(() => (released = true));
    await vi.advanceTimersByTimeAsync(29);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toBe(true);
  });

  it('does not hold when the batch took longer, or with lingerMs 0', async () => {
    vi.useFakeTimers();
    const began = performance.now();
    await vi.advanceTimersByTimeAsync(60);
    let released = 0;
    void createLinger(50)
      .hold(began)
      .then(() => (released += 1));
    void createLinger(0)
      .hold(performance.now())
      .then(() => (released += 1));
    await Promise.resolve();
    await Promise.resolve();
    expect(released).toBe(2);
  });

  it('end releases the current hold at once, and does nothing without one', async () => {
    vi.useFakeTimers();
    const linger = createLinger(60_000);
    linger.end();
    let released = false;
    void linger.hold(performance.now()).then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    linger.end();
    await Promise.resolve();
    expect(released).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
