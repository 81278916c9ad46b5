/**
 * Query depth, cost, alias and token limits (QUERY_TOO_COMPLEX), checked before the query planner
 * runs. Tokens are bounded by the parser itself (`parseOptions.maxTokens`, so a huge document is
 * never fully parsed) and its syntax error is re-coded here; depth, aliases and cost are measured on
 * the selected operation with fragments expanded.
 *
 * Cost: every field costs 1, times the product of the list sizes above it — roughly the number of
 * objects the response may hold. A list field's size is its page argument (`first`, `last`,
 * `limit`, `depth`; literal or variable), else `assumedListSize` (the schema says which fields are
 * lists; without a schema only page arguments count).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type ValidationRule,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { GatewayContext } from '../subgraph-data-source.ts';
import { edgeError } from './edge-error.ts';

export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxCost: number;
  readonly maxTokens: number;
}

export const defaultQueryLimits: QueryLimits = {
  maxDepth: 12,
  maxAliases: 30,
  maxCost: 20_000,
  maxTokens: 2_000,
};

const pageArguments = new Set(['first', 'last', 'limit', 'depth']);
/** A page size the cost model assumes at most (bigger requests are refused by the subgraphs anyway). */
const maxPageSize = 1_000;
/** Size assumed for a list without a page argument (accounts, fills, levels of a book, ...). */
export const assumedListSize = 10;

export interface OperationMeasure {
  readonly depth: number;
  readonly aliases: number;
  readonly cost: number;
}

function pageSize(field: FieldNode, variables: Readonly<Record<string, unknown>>, isList: boolean): number {
  let size = isList ? assumedListSize : 1;
  let paged = false;
  for (const argument of field.arguments ?? []) {
    if (!pageArguments.has(argument.name.value)) continue;
    let value: unknown;
    if (argument.value.kind === Kind.INT) value = Number(argument.value.value);
    else if (argument.value.kind === Kind.VARIABLE) value = variables[argument.value.name.value];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
      // The first page argument replaces the assumed size; several (first + depth) take the largest.
      size = paged ? Math.max(size, Math.min(value, maxPageSize)) : Math.min(value, maxPageSize);
      paged = true;
    }
  }
  return size;
}

/** Measures the operation with its fragments expanded (a fragment used twice counts twice). */
export function measureOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> = {},
  schema?: GraphQLSchema,
): OperationMeasure {
  const objectType = (name: string | undefined): GraphQLObjectType | undefined => {
    const type = name === undefined ? undefined : schema?.getType(name);
    return type && isObjectType(type) ? type : undefined;
  };
  const rootType =
    operation.operation === 'query'
      ? schema?.getQueryType()
      : operation.operation === 'mutation'
        ? schema?.getMutationType()
        : schema?.getSubscriptionType();
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  let aliases = 0;
  let maxDepth = 0;
  let cost = 0;
  // Validation already refused fragment cycles; `active` still guards the recursion.
  const walk = (
    selectionSet: SelectionSetNode,
    parent: GraphQLObjectType | undefined,
    depth: number,
    multiplier: number,
    active: ReadonlySet<string>,
  ) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        if (selection.alias) aliases++;
        maxDepth = Math.max(maxDepth, depth);
        cost += multiplier;
        if (selection.selectionSet) {
          const definition = parent?.getFields()[selection.name.value];
          const isList = definition !== undefined && isListType(getNullableType(definition.type));
          const child = definition ? objectType(getNamedType(definition.type).name) : undefined;
          const size = pageSize(selection, variables, isList);
          walk(selection.selectionSet, child, depth + 1, multiplier * size, active);
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = objectType(selection.typeCondition?.name.value) ?? parent;
        walk(selection.selectionSet, type, depth, multiplier, active);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !active.has(name)) {
          const type = objectType(fragment.typeCondition.name.value);
          walk(fragment.selectionSet, type, depth, multiplier, new Set([...active, name]));
        }
      }
    }
  };
  walk(operation.selectionSet, rootType ?? undefined, 1, 1, new Set());
  return { depth: maxDepth, aliases, cost };
}

function isIntrospectionOnly(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  void document;
  return operation.selectionSet.selections.every(
    (s) =>
      s.kind === Kind.FIELD &&
      (s.name.value === '__schema' || s.name.value === '__type' || s.name.value === '__typename'),
  );
}

/** The reason an operation is too complex, or null. */
export function complexityRefusal(
  measure: OperationMeasure,
  limits: QueryLimits,
): { reason: string; measure: OperationMeasure } | null {
  if (measure.depth > limits.maxDepth)
    return { reason: `depth ${measure.depth} exceeds ${limits.maxDepth}`, measure };
  if (measure.aliases > limits.maxAliases)
    return { reason: `${measure.aliases} aliases exceed ${limits.maxAliases}`, measure };
  if (measure.cost > limits.maxCost)
    return { reason: `cost ${measure.cost} exceeds ${limits.maxCost}`, measure };
  return null;
}

// graphql 16 says "more that N tokens" (sic); accept the corrected spelling too.
const tokenLimitMessage = /^Syntax Error: Document contains more th(?:at|an) \d+ tokens/;

export function useQueryLimits(limits: QueryLimits = defaultQueryLimits): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          if (!operation || isIntrospectionOnly(document, operation)) return;
          const measure = measureOperation(document, operation, request.variables ?? {}, schema);
          const refusal = complexityRefusal(measure, limits);
          if (refusal) {
            throw edgeError('QUERY_TOO_COMPLEX', `The operation is too complex: ${refusal.reason}.`, {
              depth: measure.depth,
              aliases: measure.aliases,
              cost: measure.cost,
              limits,
            });
          }
        },
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            if (tokenLimitMessage.test(error.message)) {
              (error.extensions as Record<string, unknown>)['code'] = 'QUERY_TOO_COMPLEX';
              (error.extensions as Record<string, unknown>)['limits'] = limits;
            }
          }
        },
      };
    },
  };
}

/**
 * The same depth/alias/cost limits as a graphql-js validation rule, for paths that do not run
 * Apollo's plugins (the graphql-ws server). Variables are unknown during validation, so page sizes
 * given by variables count as 1 there.
 */
export function queryLimitsValidationRule(limits: QueryLimits = defaultQueryLimits): ValidationRule {
  return (context) => ({
    OperationDefinition: {
      leave(operation) {
        const document = context.getDocument();
        if (isIntrospectionOnly(document, operation)) return;
        const refusal = complexityRefusal(
          measureOperation(document, operation, {}, context.getSchema()),
          limits,
        );
        if (refusal) {
          context.reportError(
            new GraphQLError(`The operation is too complex: ${refusal.reason}.`, {
              nodes: [operation],
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          );
        }
      },
    },
  });
}
