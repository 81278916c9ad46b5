/**
 * Plans subscription operations with the federation query planner, exactly as @apollo/gateway plans
 * queries (same `Supergraph`, `QueryPlanner`, `operationFromDocument`, `buildOperationContext`), and
 * keeps the plans in a bounded LRU. A subscription plan is a `SubscriptionNode`: the `primary` fetch
 * (run as a subscription on the subgraph owning the root field) and an optional `rest` (entity
 * fetches run per event).
 */
import {
  GraphQLError,
  Kind,
  buildASTSchema,
  OperationTypeNode,
  parse,
  print,
  stripIgnoredCharacters,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { buildOperationContext } from '@apollo/gateway';
import { Supergraph, operationFromDocument, type Operation, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { apiError } from '@graphex/schema';

type OperationContext = ReturnType<typeof buildOperationContext>;

export interface SubscriptionPlan {
  readonly operationContext: OperationContext;
  /** The client operation bound to the API schema (what the result is shaped by). */
  readonly operation: Operation;
  readonly primary: FetchNode;
  readonly rest: PlanNode | undefined;
  /** Subgraph that owns the subscription root field. */
  readonly serviceName: string;
  /** Name (not alias) of the root field the primary fetch subscribes to, e.g. `orderBook`. */
  readonly rootFieldName: string;
  /**
   * The primary fetch's operation with its name normalised, so that clients naming their operations
   * differently still share one upstream subscription. This is the text sent to the subgraph.
   */
  readonly primaryQuery: string;
  /** `print` of the client document (stable text for keys). */
  readonly documentText: string;
}

export interface SubscriptionPlanner {
  /**
   * The API schema (what clients validate against), built by *our* copy of graphql-js: federation
   * packages are CommonJS, and a runner that loads graphql's ESM build for our code (vitest) would
   * otherwise hand graphql-js a schema "from another module or realm".
   */
  readonly apiSchema: GraphQLSchema;
  /** The supergraph schema, as graphql-js (used by the plan executor for type conditions). */
  readonly supergraphSchema: GraphQLSchema;
  /** The API schema in federation-internals form (result shaping). */
  readonly apiSchemaInternal: Schema;
  /** Subgraph names and URLs recorded in the supergraph. */
  readonly subgraphs: readonly { readonly name: string; readonly url: string }[];
  /**
   * Plans a validated subscription document. Throws a GraphQLError (BAD_REQUEST /
   * OPERATION_RESOLUTION_FAILURE) for operations that are not a single subscription.
   */
  plan(document: DocumentNode, operationName: string | null | undefined): SubscriptionPlan;
}

function selectedOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationDefinitionNode {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (!operation) {
    throw apiError(
      'OPERATION_RESOLUTION_FAILURE',
      operationName
        ? `Unknown operation named "${operationName}".`
        : 'Must provide operation name if query contains multiple operations.',
    );
  }
  return operation;
}

/** The one root field a subscription fetch selects (graphql validation guarantees one). */
function rootFieldOf(document: DocumentNode): string {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (!operation) throw new Error('Primary fetch without an operation.');
  const fields = operation.selectionSet.selections.filter(
    (s) => s.kind === Kind.FIELD && s.name.value !== '__typename',
  );
  const first = fields[0];
  if (fields.length !== 1 || first?.kind !== Kind.FIELD) {
    throw new Error(`A subscription fetch must select exactly one root field, got ${fields.length}.`);
  }
  return first.name.value;
}

/** Renames the fetch operation so the client's operation name does not split upstream sharing. */
function normalisedPrimaryQuery(primary: FetchNode): { query: string; document: DocumentNode } {
  const parsed = primary.operationDocumentNode ?? parse(primary.operation);
  const document: DocumentNode = {
    ...parsed,
    definitions: parsed.definitions.map((definition) =>
      definition.kind === Kind.OPERATION_DEFINITION
        ? { ...definition, name: { kind: Kind.NAME, value: 'GraphexSubscription' } }
        : definition,
    ),
  };
  return { query: stripIgnoredCharacters(print(document)), document };
}

export function createSubscriptionPlanner(
  supergraphSdl: string,
  maxCachedPlans: number,
): SubscriptionPlanner {
  const supergraph = Supergraph.build(supergraphSdl);
  const apiSchemaInternal = supergraph.apiSchema();
  const apiSchema = buildASTSchema(apiSchemaInternal.toAST());
  // The gateway's executor and buildOperationContext run in the federation packages' realm.
  const apiSchemaForGateway = apiSchemaInternal.toGraphQLJSSchema();
  const supergraphSchema = supergraph.schema.toGraphQLJSSchema();
  const planner = new QueryPlanner(supergraph);
  const cache = new Map<string, SubscriptionPlan>();

  function buildPlan(
    document: DocumentNode,
    documentText: string,
    operationName: string | null | undefined,
  ): SubscriptionPlan {
    const definition = selectedOperation(document, operationName);
    if (definition.operation !== OperationTypeNode.SUBSCRIPTION) {
      throw apiError('BAD_REQUEST', `Expected a subscription operation, got a ${definition.operation}.`);
    }
    const name = definition.name?.value;
    const operationContext = buildOperationContext({
      schema: apiSchemaForGateway,
      operationDocument: document,
      ...(name ? { operationName: name } : {}),
    });
    const operation = operationFromDocument(apiSchemaInternal, document, name ? { operationName: name } : {});
    let queryPlan: QueryPlan;
    try {
      queryPlan = planner.buildQueryPlan(operation);
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      throw new Error(`The query planner failed on a validated subscription: ${String(error)}`, {
        cause: error,
      });
    }
    const node = queryPlan.node;
    if (node?.kind !== 'Subscription') {
      // Only an all-introspection or all-@skip operation would plan to nothing; subscriptions cannot.
      throw apiError('BAD_REQUEST', 'This subscription selects nothing a subgraph can stream.');
    }
    const { query, document: primaryDocument } = normalisedPrimaryQuery(node.primary);
    return {
      operationContext,
      operation,
      primary: node.primary,
      rest: node.rest,
      serviceName: node.primary.serviceName,
      rootFieldName: rootFieldOf(primaryDocument),
      primaryQuery: query,
      documentText,
    };
  }

  return {
    apiSchema,
    supergraphSchema,
    apiSchemaInternal,
    subgraphs: supergraph.subgraphsMetadata(),
    plan(document, operationName) {
      const documentText = print(document);
      const key = `${operationName ?? ''}\u0000${documentText}`;
      const cached = cache.get(key);
      if (cached) {
        // Refresh the LRU position.
        cache.delete(key);
        cache.set(key, cached);
        return cached;
      }
      const plan = buildPlan(document, documentText, operationName);
      cache.set(key, plan);
      while (cache.size > maxCachedPlans) {
        const oldest = cache.keys().next();
        if (oldest.done) break;
        cache.delete(oldest.value);
      }
      return plan;
    },
  };
}
