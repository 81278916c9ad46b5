import { buildSchema, parse, specifiedRules, validate, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  complexityRefusal,
  defaultQueryLimits,
  measureOperation,
  queryLimitsValidationRule,
} from './useQueryLimits.ts';

const schema = buildSchema(`
  type Query { me: User markets: [Market!]! trades(limit: Int): [Market!]! }
  type User { id: ID! accounts: [Account!]! orders(first: Int): OrderConnection! }
  type Account { currency: String! }
  type OrderConnection { edges: [OrderEdge!]! }
  type OrderEdge { node: Order! }
  type Order { id: ID! fills: [Fill!]! }
  type Fill { price: String! }
  type Market { symbol: String! }
`);

function measure(source: string, variables: Record<string, unknown> = {}, withSchema = false) {
  const document = parse(source);
  const operation = document.definitions.find(
    (d) => d.kind === 'OperationDefinition',
  ) as OperationDefinitionNode;
  return measureOperation(document, operation, variables, withSchema ? schema : undefined);
}

describe('measureOperation', () => {
  it('measures depth, aliases and page-weighted cost through fragments', () => {
    expect(measure('{ me { id email } }')).toEqual({ depth: 2, aliases: 0, cost: 3 });
    expect(measure('{ a: me { id } b: me { id } }')).toEqual({ depth: 2, aliases: 2, cost: 4 });
    // 1 (me) + 1 (orders) + 50 × (1 edges + 1 node + 1 id)
    expect(
      measure('query($n: Int) { me { orders(first: $n) { edges { node { id } } } } }', { n: 50 }),
    ).toEqual({
      depth: 5,
      aliases: 0,
      cost: 152,
    });
    expect(measure('{ ...F } fragment F on Query { me { ...G } } fragment G on User { id }')).toEqual({
      depth: 2,
      aliases: 0,
      cost: 2,
    });
    expect(measure('{ __schema { types { name } } }').cost).toBe(0);
  });

  it('with the schema, counts lists without page arguments as ten and a page argument as its size', () => {
    expect(measure('{ trades(limit: 2) { symbol } }', {}, true).cost).toBe(3);
    // me 1 + accounts 1 + 10 × currency
    expect(measure('{ me { accounts { currency } } }', {}, true).cost).toBe(12);
    // me 1 + orders 1 + 5 × (edges 1 + 10 × (node 1 + id 1 + fills 1 + 10 × price 1))
    expect(
      measure('{ me { orders(first: 5) { edges { node { id fills { price } } } } } }', {}, true).cost,
    ).toBe(2 + 5 * (1 + 10 * (3 + 10)));
  });

  it('refuses what exceeds a limit, naming it', () => {
    const deep = `{ ${'me { orders { edges { node { user { '.repeat(3)}id${' } } } } }'.repeat(3)} }`;
    expect(complexityRefusal(measure(deep), defaultQueryLimits)?.reason).toMatch(/^depth \d+ exceeds 12/);
    const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: markets { symbol }`).join(' ')} }`;
    expect(complexityRefusal(measure(aliases), defaultQueryLimits)?.reason).toMatch(/31 aliases exceed 30/);
    const costly =
      '{ me { orders(first: 1000) { edges { node { fills { order { fills { price } } } } } } } }';
    expect(complexityRefusal(measure(costly), { ...defaultQueryLimits, maxCost: 5_000 })?.reason).toMatch(
      /^cost/,
    );
    expect(complexityRefusal(measure('{ markets { symbol } }'), defaultQueryLimits)).toBeNull();
  });
});

describe('queryLimitsValidationRule', () => {
  it('reports QUERY_TOO_COMPLEX for what the plugin would refuse, and nothing for the rest', () => {
    const rules = [...specifiedRules, queryLimitsValidationRule({ ...defaultQueryLimits, maxAliases: 1 })];
    expect(validate(schema, parse('{ a: markets { symbol } }'), rules)).toEqual([]);
    const errors = validate(schema, parse('{ a: markets { symbol } b: markets { symbol } }'), rules);
    expect(errors.map((e) => e.extensions['code'])).toEqual(['QUERY_TOO_COMPLEX']);
  });
});
