/**
 * Runs the rest of a subscription plan for one upstream event with @apollo/gateway's own plan
 * executor (`executeQueryPlan`, a public export), so entity fetching, `@requires`, rewrites, error
 * paths and the final result shaping (aliases, `__typename`, fragments, `@skip`/`@include`) are the
 * gateway's, not a re-implementation.
 *
 * How: the executor only runs query plans that start from nothing, so each event becomes the plan
 * `Sequence[Fetch(primary) → rest]` whose primary fetch is answered by a data source that returns
 * the event itself instead of calling the subgraph.
 */
import { GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { FetchNode, QueryPlan } from '@apollo/query-planner';
import type { Identity, Logger } from '@graphex/runtime';
import type { SubscriptionPlan, SubscriptionPlanner } from './planner.ts';

/** One `next` payload received from a subgraph for the primary fetch. */
export interface SubgraphEvent {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly GraphQLFormattedError[];
  readonly extensions?: Record<string, unknown>;
}

/**
 * What each rest-of-plan fetch sees as `context`. Structurally the same as the HTTP gateway's
 * `GatewayContext`, so its `SubgraphDataSource` can serve subscription fetches unchanged.
 */
export interface SubscriptionFetchContext {
  readonly identity: Identity;
  readonly requestId: string;
  readonly logger: Logger;
  /** The subscriber's identity signed for subgraphs (cached while the token is fresh). */
  readonly internalIdentityToken: () => Promise<string>;
}

type RequestContext = Parameters<typeof executeQueryPlan>[2];

/** Service name the synthetic primary fetch is routed to; not a valid subgraph name. */
const eventServiceName = '(subscription event)';

export interface EventExecutionInput {
  readonly plan: SubscriptionPlan;
  readonly document: DocumentNode;
  readonly operationName: string | null | undefined;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly fetchContext: SubscriptionFetchContext;
  readonly event: SubgraphEvent;
}

export function createEventExecutor(
  planner: SubscriptionPlanner,
  dataSources: Readonly<Record<string, GraphQLDataSource>>,
) {
  return async function executeEvent(input: EventExecutionInput): Promise<ExecutionResult> {
    const { plan, event } = input;
    if (event.data === null || event.data === undefined) {
      // The subgraph answered with errors only (e.g. its subscribe resolver refused): nothing to join.
      return { data: null, errors: (event.errors ?? []).map((e) => subgraphError(e, plan.serviceName)) };
    }
    // executeQueryPlan merges entity fields into (and keeps references to) the primary data: every
    // execution gets its own copy, as the event is shared by all groups of the upstream.
    const eventData = structuredClone(event.data);
    const eventErrors = event.errors;
    const eventSource: GraphQLDataSource = {
      process: async () => ({ data: eventData, ...(eventErrors ? { errors: eventErrors } : {}) }),
    };
    const serviceMap: ServiceMap = { ...dataSources, [eventServiceName]: eventSource };
    const primaryFromEvent: FetchNode = { ...plan.primary, serviceName: eventServiceName };
    const queryPlan: QueryPlan = {
      kind: 'QueryPlan',
      node: plan.rest ? { kind: 'Sequence', nodes: [primaryFromEvent, plan.rest] } : primaryFromEvent,
    };
    const requestContext = {
      request: {
        query: plan.documentText,
        variables: { ...input.variables },
        ...(input.operationName ? { operationName: input.operationName } : {}),
      },
      document: input.document,
      operationName: input.operationName ?? null,
      logger: input.fetchContext.logger,
      context: input.fetchContext,
      metrics: {},
    } as unknown as RequestContext;
    const result = await executeQueryPlan(
      queryPlan,
      serviceMap,
      requestContext,
      plan.operationContext,
      planner.supergraphSchema,
      planner.apiSchemaInternal,
    );
    const errors = result.errors?.map((error) => relabelEventError(error, plan.serviceName));
    return {
      data: (result.data ?? null) as ExecutionResult['data'],
      ...(errors && errors.length > 0 ? { errors } : {}),
      ...(result.extensions ? { extensions: result.extensions } : {}),
    };
  };
}

/** Errors of the event itself name the real subgraph, as errors of an HTTP fetch would. */
function relabelEventError(error: GraphQLError, serviceName: string): GraphQLError {
  if (error.extensions['serviceName'] !== eventServiceName) return error;
  return new GraphQLError(error.message, {
    ...(error.path ? { path: error.path } : {}),
    originalError: error.originalError ?? undefined,
    extensions: { ...error.extensions, serviceName },
  });
}

function subgraphError(formatted: GraphQLFormattedError, serviceName: string): GraphQLError {
  return new GraphQLError(formatted.message, {
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { ...formatted.extensions, serviceName },
  });
}
