import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire, type CoreCommand, type PublicCoreEvent } from './index.ts';

describe('core wire codec', () => {
  it('round-trips bigint fields exactly, beyond 2^53', () => {
    const event: PublicCoreEvent = {
      type: 'BalanceChanged',
      eventSeq: 7,
      seq: 3,
      timeMs: 1_700_000_000_000,
      userId: '3f0e8d8e-2b4c-4a7e-9a57-0a1d2c3b4e5f',
      assetId: 2,
      availableUnits: 123456789123456789012345678n,
      lockedUnits: 0n,
    };
    const decoded = decodeWire<PublicCoreEvent>(encodeWire(event));
    expect(decoded).toEqual(event);
  });

  it('leaves look-alike strings that are not bigint fields alone', () => {
    const command: CoreCommand = {
      type: 'PlaceOrder',
      userId: 'u-1',
      marketId: 1,
      side: 'BUY',
      orderType: 'MARKET',
      timeInForce: 'IOC',
      priceTicks: null,
      stopPriceTicks: null,
      quantityLots: null,
      quoteBudgetUnits: 5_000_000n,
      postOnly: false,
      selfTradePrevention: 'EXPIRE_TAKER',
      clientOrderId: '12345',
    };
    const decoded = decodeWire<CoreCommand>(encodeWire(command));
    expect(decoded).toEqual(command);
    expect(typeof (decoded as { clientOrderId: unknown }).clientOrderId).toBe('string');
  });

  it('refuses a non-integer in a bigint field', () => {
    expect(() => decodeWire('{"amountUnits":"1.5"}')).toThrow(SyntaxError);
  });
});
