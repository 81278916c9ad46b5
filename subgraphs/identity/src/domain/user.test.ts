import { describe, expect, it } from 'vitest';
import { isUserId, userAccessFor } from './user.ts';

const alice = '6f1c8e02-4a7b-4c3d-9e1f-0a1b2c3d4e5f';
const bob = '0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d';

describe('user visibility', () => {
  it('lets the user and staff read private fields, nobody else', () => {
    expect(userAccessFor({ kind: 'anonymous' }, alice)).toBe('public');
    expect(userAccessFor({ kind: 'user', userId: alice, role: 'USER', sessionId: 's' }, alice)).toBe(
      'private',
    );
    expect(userAccessFor({ kind: 'user', userId: bob, role: 'USER', sessionId: 's' }, alice)).toBe('public');
    for (const role of ['SUPPORT', 'COMPLIANCE', 'ADMIN'] as const) {
      expect(userAccessFor({ kind: 'user', userId: bob, role, sessionId: null }, alice)).toBe('private');
    }
    const apiKey = {
      kind: 'apiKey',
      userId: alice,
      role: 'USER',
      apiKeyId: 'k',
      scopes: ['READ'],
      persistedOnly: false,
    } as const;
    expect(userAccessFor(apiKey, alice)).toBe('private');
    expect(userAccessFor({ ...apiKey, userId: bob }, alice)).toBe('public');
  });

  it('recognises user ids', () => {
    expect(isUserId(alice)).toBe(true);
    expect(isUserId(alice.toUpperCase())).toBe(true);
    expect(isUserId('not-a-uuid')).toBe(false);
    expect(isUserId(`${alice}x`)).toBe(false);
    expect(isUserId("' OR 1=1 --")).toBe(false);
  });
});
