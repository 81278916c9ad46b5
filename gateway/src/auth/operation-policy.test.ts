import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Identity } from '@graphex/runtime';
import { apiKeyRefusal, rootFieldPolicy, rootFieldsOf } from './operation-policy.ts';

const apiSchemaPath = fileURLToPath(new URL('../../../schema/api.graphql', import.meta.url));

function operationOf(source: string) {
  const document = parse(source);
  return { document, operation: document.definitions[0] as OperationDefinitionNode };
}

const key = (scopes: Array<'READ' | 'TRADE' | 'WITHDRAW'>): Identity => ({
  kind: 'apiKey',
  userId: 'u',
  role: 'ADMIN',
  apiKeyId: 'k',
  scopes,
  persistedOnly: false,
});

describe('API-key policy', () => {
  it('declares a rule for every root field of the composed API schema', () => {
    const schema = buildSchema(readFileSync(apiSchemaPath, 'utf8'));
    const missing: string[] = [];
    for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      if (!type) continue;
      for (const field of Object.keys(type.getFields()))
        if (!rootFieldPolicy[`${type.name}.${field}`]) missing.push(`${type.name}.${field}`);
    }
    expect(missing, 'add these to auth/operation-policy.ts and tests/security').toEqual([]);
  });

  it('finds root fields through fragments and inline fragments', () => {
    const { document, operation } = operationOf(
      `mutation { ...A ... on Mutation { cancelOrder(id: "1") { id } } } fragment A on Mutation { placeOrder(input: {}) { id } }`,
    );
    expect(rootFieldsOf(document, operation).sort()).toEqual(['Mutation.cancelOrder', 'Mutation.placeOrder']);
  });

  it('lets READ keys read, TRADE trade, WITHDRAW withdraw, and no key act as a person', () => {
    const fields = (source: string) => {
      const { document, operation } = operationOf(source);
      return rootFieldsOf(document, operation);
    };
    expect(apiKeyRefusal(key(['READ']), fields('{ me { id } markets { symbol } __typename }'))).toBeNull();
    expect(apiKeyRefusal(key(['READ']), fields('mutation { placeOrder(input: {}) { id } }'))).toMatch(
      /TRADE/,
    );
    expect(
      apiKeyRefusal(key(['READ', 'TRADE']), fields('mutation { placeOrder(input: {}) { id } }')),
    ).toBeNull();
    expect(
      apiKeyRefusal(key(['READ', 'TRADE']), fields('mutation { requestWithdrawal(input: {}) { id } }')),
    ).toMatch(/WITHDRAW/);
    expect(
      apiKeyRefusal(
        key(['READ', 'TRADE', 'WITHDRAW']),
        fields('mutation { setUserRole(userId: "x", role: ADMIN) { id } }'),
      ),
    ).toMatch(/signed-in person/);
    expect(apiKeyRefusal(key(['READ']), fields('{ somethingNew }'))).toMatch(/no API-key rule/);
    const user: Identity = { kind: 'user', userId: 'u', role: 'USER', sessionId: 's' };
    expect(apiKeyRefusal(user, fields('{ somethingNew }'))).toBeNull();
  });
});
