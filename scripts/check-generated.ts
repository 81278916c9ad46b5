/**
 * CI drift check for generated artefacts: regenerates typed resolvers/documents (graphql-codegen) and
 * docs/errors.md, then fails when git sees any difference in the generated paths.
 */
import { execFileSync } from 'node:child_process';

const generatedPaths = [
  'subgraphs/*/src/__generated__',
  'clients/src/__generated__',
  'docs/errors.md',
  'schema/persisted-operations.json',
];

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: 'inherit' });
}

run('npm', ['run', '--silent', 'errors:docs']);
run('npm', ['run', '--silent', 'codegen']);
const status = execFileSync('git', ['status', '--porcelain', '--', ...generatedPaths], { encoding: 'utf8' });
if (status.trim() !== '') {
  console.error(
    'Generated files are stale; run `npm run codegen && npm run errors:docs` and commit:\n' + status,
  );
  execFileSync('git', ['--no-pager', 'diff', '--stat', '--', ...generatedPaths], { stdio: 'inherit' });
  process.exit(1);
}
console.log('generated files are current');
