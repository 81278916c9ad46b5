/**
 * An `operationName` that names no operation of the document (or a document with several
 * operations and no name) is the client's mistake: Apollo Server hands such a request to the
 * gateway executor, whose query planner throws an uncoded error that would surface as
 * INTERNAL_SERVER_ERROR. Refuse it first with the registry's OPERATION_RESOLUTION_FAILURE (400).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../subgraph-data-source.ts';
import { edgeError } from './edge-error.ts';

export function useOperationResolution(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (operation) return;
          const name = request.operationName;
          throw edgeError(
            'OPERATION_RESOLUTION_FAILURE',
            name
              ? `The document has no operation named "${name.slice(0, 100)}".`
              : 'The document has several operations: name the one to run in operationName.',
          );
        },
      };
    },
  };
}
