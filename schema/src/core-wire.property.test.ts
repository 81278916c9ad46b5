import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bigintFieldNames, decodeWire, encodeWire } from './index.ts';

/** The straightforward decoder (a JSON.parse reviver) that decodeWire must agree with. */
function decodeWithReviver(text: string): unknown {
  return JSON.parse(text, (key, field: unknown) => {
    if (bigintFieldNames.has(key) && typeof field === 'string') {
      if (!/^-?\d+$/.test(field)) throw new SyntaxError(`Field ${key} must be an integer string.`);
      return BigInt(field);
    }
    return field;
  });
}

const outcome = (decode: (text: string) => unknown, text: string): unknown => {
  try {
    return { value: decode(text) };
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
};

const keys = fc.oneof(fc.constantFrom(...bigintFieldNames, 'eventSeq', 'type', 'market'), fc.string());
const leaf = fc.oneof(
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(keys, tie('tree'), { maxKeys: 6 }),
  ),
}));

describe('decodeWire', () => {
  it('decodes every document exactly like a JSON.parse reviver, refusals included', () => {
    fc.assert(
      fc.property(tree, (value) => {
        const text = JSON.stringify(value);
        expect(outcome(decodeWire, text)).toEqual(outcome(decodeWithReviver, text));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips core messages with bigint fields at any depth', () => {
    const message = {
      op: 'result',
      id: 7,
      result: { code: 0, orderId: 12 },
      events: [
        { eventSeq: 1, type: 'FundsMoved', amountUnits: -(2n ** 70n), holdUnits: 0n },
        { eventSeq: 2, type: 'MarketAdded', market: { tickSizeQuoteUnits: 10n, lotSizeBaseUnits: 1000n } },
      ],
    };
    expect(decodeWire(encodeWire(message))).toEqual(message);
    expect(() => decodeWire('{"amountUnits":"1.5"}')).toThrow(SyntaxError);
  });
});
