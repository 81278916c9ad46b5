/**
 * The supergraph the gateway serves: read once at start from the composed file
 * (`schema/supergraph.graphql`, written by `npm run compose`), never introspected at run time.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Kind, parse, type ConstValueNode } from 'graphql';

const missingHint = 'run `npm run compose` first.';

/** Path of the committed supergraph, resolved through the schema package's exports. */
export function defaultSupergraphPath(): string {
  try {
    return createRequire(import.meta.url).resolve('@graphex/schema/supergraph.graphql');
  } catch (error) {
    throw new Error(`The supergraph (@graphex/schema/supergraph.graphql) is missing: ${missingHint}`, {
      cause: error,
    });
  }
}

export async function readSupergraphSdl(file?: string): Promise<string> {
  file ??= defaultSupergraphPath();
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Supergraph file ${file} is missing: ${missingHint}`, { cause: error });
    }
    throw error;
  }
}

export interface SupergraphSubgraph {
  /** Name given to composition (`market-data`). */
  readonly name: string;
  /** URL recorded at composition time (the default local URL). */
  readonly url: string;
}

function stringValue(value: ConstValueNode | undefined): string | undefined {
  return value?.kind === Kind.STRING ? value.value : undefined;
}

/**
 * The subgraphs named in a supergraph, from its `enum join__Graph { X @join__graph(name:, url:) }`.
 * The gateway health check and URL overrides work from this list, so a test supergraph with other
 * subgraphs behaves like the real one.
 */
export function subgraphsOfSupergraph(supergraphSdl: string): SupergraphSubgraph[] {
  const document = parse(supergraphSdl, { noLocation: true });
  const subgraphs: SupergraphSubgraph[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === 'join__graph');
      const name = stringValue(directive?.arguments?.find((a) => a.name.value === 'name')?.value);
      const url = stringValue(directive?.arguments?.find((a) => a.name.value === 'url')?.value);
      if (name === undefined || url === undefined) {
        throw new Error(
          `Supergraph enum value join__Graph.${value.name.value} lacks @join__graph(name:, url:).`,
        );
      }
      subgraphs.push({ name, url });
    }
  }
  if (subgraphs.length === 0) throw new Error('The supergraph names no subgraphs (no join__Graph enum).');
  return subgraphs;
}
