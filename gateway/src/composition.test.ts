import { describe, expect, it } from 'vitest';
import { composeSupergraph } from './composition.ts';
import { subgraphsOfSupergraph } from './supergraph.ts';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

const users = {
  name: 'users',
  url: 'http://127.0.0.1:4101/graphql',
  sourceName: 'subgraphs/users/schema.graphql',
  typeDefs: `${link}\ntype User @key(fields: "id") {\n  id: ID!\n  email: String!\n}\ntype Query {\n  me: User\n}\n`,
};
const marketData = {
  name: 'market-data',
  url: 'http://127.0.0.1:4102/graphql',
  sourceName: 'subgraphs/market-data/schema.graphql',
  typeDefs: `${link}\ntype User @key(fields: "id") {\n  id: ID!\n  balance: String!\n}\ntype Query {\n  version: String!\n}\n`,
};

describe('composeSupergraph', () => {
  it('writes a supergraph naming every subgraph and an API schema without federation machinery', () => {
    const outcome = composeSupergraph([users, marketData]);
    if (!outcome.ok) throw new Error(outcome.errors.join('\n'));
    expect(subgraphsOfSupergraph(outcome.supergraphSdl)).toEqual([
      { name: 'market-data', url: 'http://127.0.0.1:4102/graphql' },
      { name: 'users', url: 'http://127.0.0.1:4101/graphql' },
    ]);
    expect(outcome.apiSchemaSdl).toContain('type User {\n  id: ID!\n  balance: String!\n  email: String!\n}');
    expect(outcome.apiSchemaSdl).not.toMatch(/join__|@link|link__|_Entity|_service/);
    expect(outcome.supergraphSdl.endsWith('\n')).toBe(true);
    // Deterministic: the committed files only change when a subgraph does.
    const again = composeSupergraph([users, marketData]);
    expect(again).toEqual(outcome);
  });

  it('reports composition errors with the SDL file and line of each place involved', () => {
    const conflicting = {
      ...marketData,
      typeDefs: marketData.typeDefs.replace('balance: String!', 'email: Int!'),
    };
    const outcome = composeSupergraph([users, conflicting]);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const typeMismatch = outcome.errors.find((error) => error.startsWith('[FIELD_TYPE_MISMATCH]'));
    expect(typeMismatch).toContain('User.email');
    expect(typeMismatch).toContain('at subgraphs/users/schema.graphql:4:3');
    expect(typeMismatch).toContain('at subgraphs/market-data/schema.graphql:4:3');
  });

  it('reports SDL syntax errors with their place instead of throwing', () => {
    const broken = { ...users, typeDefs: 'type Query {\n  me: \n}\n' };
    const outcome = composeSupergraph([broken, marketData]);
    expect(outcome).toEqual({
      ok: false,
      errors: [
        expect.stringMatching(
          /^\[GRAPHQL_PARSE_FAILED\] Syntax Error: .*\n {4}at subgraphs\/users\/schema\.graphql:3:1$/,
        ),
      ],
    });
  });
});
