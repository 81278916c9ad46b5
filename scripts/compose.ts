/**
 * `npm run compose`: composes the five subgraph SDL files (`subgraphs/<name>/schema.graphql`) into
 * `schema/supergraph.graphql` (what the gateway serves) and `schema/api.graphql` (the client-facing
 * schema without federation directives; codegen reads it for client documents).
 *
 * `npm run compose:check` (CI): composes in memory and exits 1 when composition fails or either file
 * differs from what is committed.
 *
 * The URLs written into the supergraph are the default local ones (`subgraphUrl(name)` with an empty
 * environment), so the committed file never depends on who ran the script; the gateway overrides them
 * at run time from `<NAME>_URL` / `<NAME>_PORT`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { serviceNames, subgraphUrl } from '@graphex/runtime';
import { composeSupergraph, type SubgraphSdl } from '@graphex/gateway/composition';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outputs = {
  supergraph: 'schema/supergraph.graphql',
  api: 'schema/api.graphql',
} as const;
/** Lines of context shown around the first difference in `--check` mode. */
const diffContextLines = 3;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function readSubgraphs(): SubgraphSdl[] {
  const missing: string[] = [];
  const subgraphs: SubgraphSdl[] = [];
  for (const name of serviceNames) {
    const relative = `subgraphs/${name}/schema.graphql`;
    const file = path.join(root, relative);
    if (!existsSync(file)) {
      missing.push(relative);
      continue;
    }
    subgraphs.push({
      name,
      url: subgraphUrl(name, {}),
      typeDefs: readFileSync(file, 'utf8'),
      sourceName: relative,
    });
  }
  if (missing.length > 0) {
    fail(
      `Cannot compose the supergraph: missing subgraph SDL file${missing.length > 1 ? 's' : ''}:\n` +
        missing.map((file) => `  - ${file}`).join('\n') +
        `\nEvery subgraph (${serviceNames.join(', ')}) must have its schema.graphql.`,
    );
  }
  return subgraphs;
}

/** A tiny diff hint: the first differing line with a few lines of context on both sides. */
function firstDifference(expected: string, actual: string): string {
  const want = expected.split('\n');
  const have = actual.split('\n');
  let line = 0;
  while (line < want.length && line < have.length && want[line] === have[line]) line++;
  const from = Math.max(0, line - diffContextLines);
  const show = (lines: string[], sign: string): string =>
    lines
      .slice(from, line + diffContextLines + 1)
      .map(
        (text, index) =>
          `${from + index === line ? sign : ' '} ${String(from + index + 1).padStart(5)} | ${text}`,
      )
      .join('\n');
  return `  first difference at line ${line + 1}\n  committed:\n${show(have, '-')}\n  composed:\n${show(want, '+')}`;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const outcome = composeSupergraph(readSubgraphs());
  if (!outcome.ok) {
    fail(
      `Supergraph composition failed with ${outcome.errors.length} error${outcome.errors.length > 1 ? 's' : ''}:\n\n` +
        outcome.errors.map((error, index) => `${index + 1}. ${error}`).join('\n\n'),
    );
  }
  // Hints are advice (inconsistent descriptions and the like), one line each unless --verbose.
  const verbose = process.argv.includes('--verbose');
  for (const hint of outcome.hints) {
    const firstLine = hint.split('\n')[0]!;
    process.stderr.write(
      `hint: ${verbose ? hint : firstLine.length > 160 ? `${firstLine.slice(0, 157)}...` : firstLine}\n`,
    );
  }
  if (outcome.hints.length > 0 && !verbose)
    process.stderr.write('(npm run compose -- --verbose shows the hints in full)\n');

  // The API schema is read by people (and linted like any source file), so it is written in the
  // repository's Prettier style; the supergraph is machine input and stays as composition prints it.
  const apiFile = path.join(root, outputs.api);
  const expected: Record<keyof typeof outputs, string> = {
    supergraph: outcome.supergraphSdl,
    api: await format(outcome.apiSchemaSdl, { ...(await resolveConfig(apiFile)), filepath: apiFile }),
  };
  const stale: string[] = [];
  for (const key of Object.keys(outputs) as (keyof typeof outputs)[]) {
    const relative = outputs[key];
    const file = path.join(root, relative);
    const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (current === expected[key]) continue;
    if (check) {
      stale.push(
        current === undefined
          ? `${relative} does not exist`
          : `${relative} is stale\n${firstDifference(expected[key], current)}`,
      );
    } else {
      writeFileSync(file, expected[key]);
      process.stdout.write(`wrote ${relative}\n`);
    }
  }
  if (stale.length > 0) {
    fail(
      `${stale.join('\n\n')}\n\nRun \`npm run compose\` and commit ${Object.values(outputs).join(' and ')}.`,
    );
  }
  process.stdout.write(
    check
      ? `supergraph is current (${serviceNames.length} subgraphs)\n`
      : `composed ${serviceNames.length} subgraphs: ${serviceNames.join(', ')}\n`,
  );
}

await main();
