import { describe, expect, it } from 'vitest';
import { createArgon2Hasher } from './password-hasher.ts';

describe('argon2id password hasher', () => {
  const hasher = createArgon2Hasher();

  it('hashes with argon2id and a fresh salt, and verifies only the right password', async () => {
    const first = await hasher.hash('Correct-Horse-9');
    const second = await hasher.hash('Correct-Horse-9');
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(first).not.toBe(second);
    expect(await hasher.verify(first, 'Correct-Horse-9')).toBe(true);
    expect(await hasher.verify(first, 'correct-horse-9')).toBe(false);
  });

  it('treats a malformed stored hash as a wrong password', async () => {
    expect(await hasher.verify('not-a-phc-string', 'Correct-Horse-9')).toBe(false);
  });

  it('spends a real verification on unknown users and always says no', async () => {
    expect(await hasher.verifyDummy('Correct-Horse-9')).toBe(false);
    const real = await hasher.hash('Correct-Horse-9');
    // Same order of magnitude of work as a real verification (generous bounds: this is not a benchmark).
    const time = async (work: () => Promise<unknown>) => {
      const start = performance.now();
      for (let i = 0; i < 3; i++) await work();
      return performance.now() - start;
    };
    const dummyMs = await time(() => hasher.verifyDummy('Correct-Horse-9'));
    const realMs = await time(() => hasher.verify(real, 'Wrong-Horse-9'));
    expect(dummyMs).toBeGreaterThan(realMs / 4);
  });
});
