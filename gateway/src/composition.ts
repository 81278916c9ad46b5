/**
 * Supergraph composition (build time only): subgraph SDL files in, `supergraph.graphql` (what the
 * gateway plans against) and the client-facing API schema out. The gateway never composes at run
 * time; `npm run compose` writes the files and CI fails when they are stale (`compose:check`).
 */
import { composeServices } from '@apollo/composition';
import {
  GraphQLError,
  Source,
  buildASTSchema,
  getLocation,
  parse,
  printSchema,
  type ASTNode,
  type DocumentNode,
} from 'graphql';

export interface SubgraphSdl {
  /** Subgraph name as the gateway knows it (`market-data`); becomes `join__graph(name:)`. */
  readonly name: string;
  /** Default URL written into the supergraph; the gateway may override it at run time. */
  readonly url: string;
  readonly typeDefs: string;
  /** Where the SDL came from (a file path), used in error messages. */
  readonly sourceName?: string;
}

export type CompositionOutcome =
  | {
      readonly ok: true;
      readonly supergraphSdl: string;
      /** The schema clients see: no federation or join directives. */
      readonly apiSchemaSdl: string;
      /** Composition hints (warnings), formatted one per entry. */
      readonly hints: readonly string[];
    }
  | { readonly ok: false; readonly errors: readonly string[] };

function locationsOf(nodes: readonly ASTNode[] | undefined): string[] {
  const places: string[] = [];
  for (const node of nodes ?? []) {
    const loc = node.loc;
    if (!loc) continue;
    const { line, column } = getLocation(loc.source, loc.start);
    places.push(`${loc.source.name}:${line}:${column}`);
  }
  return [...new Set(places)];
}

/** One readable paragraph per composition error: `[CODE] message` and the SDL places involved. */
export function formatCompositionError(error: GraphQLError): string {
  const code = typeof error.extensions['code'] === 'string' ? `[${error.extensions['code']}] ` : '';
  const places = locationsOf(error.nodes);
  return places.length === 0
    ? `${code}${error.message}`
    : `${code}${error.message}\n    at ${places.join('\n    at ')}`;
}

/** Composes the subgraphs. Never throws for bad SDL: syntax and composition errors come back as values. */
export function composeSupergraph(subgraphs: readonly SubgraphSdl[]): CompositionOutcome {
  const errors: string[] = [];
  const services: { name: string; url: string; typeDefs: DocumentNode }[] = [];
  for (const subgraph of subgraphs) {
    try {
      // A named Source makes every AST node (and so every composition error) point at its file.
      const typeDefs = parse(new Source(subgraph.typeDefs, subgraph.sourceName ?? subgraph.name));
      services.push({ name: subgraph.name, url: subgraph.url, typeDefs });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      errors.push(`[GRAPHQL_PARSE_FAILED] ${error.message}\n    at ${placeOf(error, subgraph)}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  const result = composeServices(services);
  if (result.errors) return { ok: false, errors: result.errors.map(formatCompositionError) };
  // Through the AST rather than toGraphQLJSSchema(): the AST is plain data, so this works whichever
  // copy of graphql-js composition loaded (the test runner may load the ESM and CJS builds).
  const apiSchema = buildASTSchema(result.schema.toAPISchema().toAST());
  return {
    ok: true,
    supergraphSdl: result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`,
    apiSchemaSdl: `${printSchema(apiSchema)}\n`,
    hints: result.hints.map((hint) => `[${hint.definition.code}] ${hint.message}`),
  };
}

function placeOf(error: GraphQLError, subgraph: SubgraphSdl): string {
  const where = subgraph.sourceName ?? subgraph.name;
  const location = error.locations?.[0];
  return location ? `${where}:${location.line}:${location.column}` : where;
}
