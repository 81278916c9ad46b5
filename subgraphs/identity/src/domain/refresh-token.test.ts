import { describe, expect, it } from 'vitest';
import { hashRefreshToken, looksLikeRefreshToken, newRefreshToken } from './refresh-token.ts';

describe('refresh tokens', () => {
  it('are random, well-formed, and stored only as their SHA-256', () => {
    const a = newRefreshToken();
    const b = newRefreshToken();
    expect(a.token).not.toBe(b.token);
    expect(looksLikeRefreshToken(a.token)).toBe(true);
    expect(a.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.tokenHash).toBe(hashRefreshToken(a.token));
    expect(a.tokenHash).not.toContain(a.token.slice(4));
  });

  it('reject anything of the wrong shape', () => {
    for (const token of [
      '',
      'gxr_',
      'gxr_short',
      `xxx_${'A'.repeat(43)}`,
      `gxr_${'A'.repeat(44)}`,
      `gxr_${'+'.repeat(43)}`,
    ]) {
      expect(looksLikeRefreshToken(token), token).toBe(false);
    }
  });
});
