/**
 * Enforces the API-key table of `auth/operation-policy.ts` before the query is planned: a key
 * without TRADE cannot place orders, without WITHDRAW cannot withdraw, and no key acts as a person.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { apiKeyRefusal, rootFieldsOf } from '../auth/operation-policy.ts';
import type { GatewayContext } from '../subgraph-data-source.ts';
import { edgeError } from './edge-error.ts';

export function useApiKeyScopes(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, document, operation }) {
          if (contextValue.identity.kind !== 'apiKey' || !operation) return;
          const refusal = apiKeyRefusal(contextValue.identity, rootFieldsOf(document, operation));
          if (refusal) throw edgeError('FORBIDDEN', refusal);
        },
      };
    },
  };
}
