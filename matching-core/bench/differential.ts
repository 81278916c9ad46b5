/**
 * Differential run as a program: `node matching-core/bench/differential.ts [--long] [--seed N]`.
 * Default 200,000 commands of the rich stream; `--long` runs 5,000,000 (rich) + 1,000,000 (bench mix).
 */
import { runDifferential } from './differential-run.ts';

const args = process.argv.slice(2);
const long = args.includes('--long');
const seedIndex = args.indexOf('--seed');
const seed = seedIndex >= 0 ? Number(args[seedIndex + 1]) : 20_261_122;
const plans = long
  ? [
      { stream: 'rich' as const, commands: 5_000_000 },
      { stream: 'bench' as const, commands: 1_000_000 },
    ]
  : [{ stream: 'rich' as const, commands: 200_000 }];
for (const plan of plans) {
  const started = process.hrtime.bigint();
  const report = runDifferential({
    seed,
    ...plan,
    hashEvery: 100_000,
    onProgress: (done) => process.stderr.write(`  ${plan.stream} ${done}/${plan.commands}\r`),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `differential stream=${plan.stream} seed=${seed} commands=${report.commands} events=${report.events} trades=${report.trades} ` +
      `hash_checks=${report.hashChecks} identical=true seconds=${seconds.toFixed(1)} hash=${report.finalHash.slice(0, 16)}`,
  );
}
