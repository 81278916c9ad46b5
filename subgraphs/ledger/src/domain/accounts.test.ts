import { describe, expect, it } from 'vitest';
import { balanceAccess, isUserId, ledgerAccountKey } from './accounts.ts';

const alice = '6f1c8e02-4a7b-4c3d-9e1f-0a1b2c3d4e5f';

describe('accounts', () => {
  it('keys accounts unambiguously', () => {
    expect(ledgerAccountKey({ kind: 'user', userId: alice, currency: 'BTC', bucket: 'AVAILABLE' })).toBe(
      `user:${alice}:BTC:AVAILABLE`,
    );
    expect(ledgerAccountKey({ kind: 'system', name: 'CUSTODY', currency: 'BTC' })).toBe('system:CUSTODY:BTC');
  });

  it('shows balances to their owner and staff only', () => {
    expect(balanceAccess({ kind: 'anonymous' }, alice)).toBe('unauthenticated');
    expect(balanceAccess({ kind: 'user', userId: alice, role: 'USER', sessionId: null }, alice)).toBe(
      'allowed',
    );
    expect(balanceAccess({ kind: 'user', userId: 'b', role: 'USER', sessionId: null }, alice)).toBe(
      'forbidden',
    );
    for (const role of ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const) {
      expect(balanceAccess({ kind: 'user', userId: 'b', role, sessionId: null }, alice)).toBe('allowed');
    }
    // Staff roles count only with a session: an API key reads its owner's balances, nobody else's.
    for (const role of ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const) {
      const key = (userId: string) =>
        ({ kind: 'apiKey', userId, role, apiKeyId: 'k', scopes: ['READ'], persistedOnly: false }) as const;
      expect(balanceAccess(key('b'), alice), role).toBe('forbidden');
      expect(balanceAccess(key(alice), alice), role).toBe('allowed');
    }
    expect(isUserId(alice)).toBe(true);
    expect(isUserId(alice.toUpperCase())).toBe(false);
  });
});
