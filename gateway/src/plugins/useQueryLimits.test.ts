import { parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { complexityRefusal, defaultQueryLimits, measureOperation } from './useQueryLimits.ts';

function measure(source: string, variables: Record<string, unknown> = {}) {
  const document = parse(source);
  const operation = document.definitions.find(
    (d) => d.kind === 'OperationDefinition',
  ) as OperationDefinitionNode;
  return measureOperation(document, operation, variables);
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
