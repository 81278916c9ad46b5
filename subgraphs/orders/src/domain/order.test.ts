import { describe, expect, it } from 'vitest';
import { userIdentity } from '@graphex/runtime/testing';
import { anonymous } from '@graphex/runtime';
import { decodeCursor, encodeCursor, pageRequest } from './cursor.ts';
import { averageFillPrice, canReadOrdersOf, orderedQuantity, remainingQuantity } from './order.ts';

describe('derived quantities', () => {
  it('remaining = quantity − filled, exactly', () => {
    expect(remainingQuantity({ quantity: '0.5', filledQuantity: '0.12345678' })).toBe('0.37654322');
    expect(remainingQuantity({ quantity: '1', filledQuantity: '1' })).toBe('0');
    // A buy sized by quote budget reports what it bought and never has a remainder.
    expect(orderedQuantity({ quantity: null, filledQuantity: '0.3' })).toBe('0.3');
    expect(remainingQuantity({ quantity: null, filledQuantity: '0.3' })).toBe('0');
  });

  it('average fill price is null before a fill and exact after', () => {
    expect(averageFillPrice({ filledQuantity: '0', filledNotional: '0' })).toBeNull();
    // 0.1 @ 100 + 0.3 @ 200 → 70 / 0.4 = 175
    expect(averageFillPrice({ filledQuantity: '0.4', filledNotional: '70' })).toBe('175');
    // 1 @ 1 + 2 @ 2 → 5 / 3, truncated to 18 places
    expect(averageFillPrice({ filledQuantity: '3', filledNotional: '5' })).toBe('1.666666666666666666');
  });
});

describe('canReadOrdersOf', () => {
  it('lets the owner, SUPPORT and ADMIN read, nobody else', () => {
    expect(canReadOrdersOf(userIdentity('u-1'), 'u-1')).toBe(true);
    expect(canReadOrdersOf(userIdentity('u-2'), 'u-1')).toBe(false);
    expect(canReadOrdersOf(userIdentity('u-2', 'SUPPORT'), 'u-1')).toBe(true);
    expect(canReadOrdersOf(userIdentity('u-2', 'ADMIN'), 'u-1')).toBe(true);
    expect(canReadOrdersOf(userIdentity('u-2', 'COMPLIANCE'), 'u-1')).toBe(false);
    expect(canReadOrdersOf(anonymous, 'u-1')).toBe(false);
    expect(
      canReadOrdersOf(
        {
          kind: 'apiKey',
          userId: 'u-1',
          role: 'USER',
          apiKeyId: 'k',
          scopes: ['READ'],
          persistedOnly: false,
        },
        'u-1',
      ),
    ).toBe(true);
  });
});

describe('cursors', () => {
  it('round-trip exactly', () => {
    const position = { createdAt: '2026-11-22 01:48:18.123456+00', id: 'o-42' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it('refuse anything that is not a cursor with BAD_USER_INPUT', () => {
    const bad = [
      '',
      'nope',
      '!!!',
      'x'.repeat(300),
      Buffer.from('[2,"2026-01-01 00:00:00+00","a"]').toString('base64url'),
      Buffer.from('[1,"yesterday","a"]').toString('base64url'),
      Buffer.from('[1,"2026-01-01 00:00:00+00",7]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
    ];
    for (const cursor of bad) {
      expect(() => decodeCursor(cursor), cursor).toThrow(
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
      );
    }
  });

  it('bound the page size', () => {
    expect(pageRequest(undefined, undefined)).toEqual({ limit: 50, after: null });
    expect(pageRequest(200, null).limit).toBe(200);
    for (const first of [0, -1, 201, 1.5]) {
      expect(() => pageRequest(first, null)).toThrow(
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
      );
    }
  });
});
