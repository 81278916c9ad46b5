import { describe, expect, it } from 'vitest';
import { runDifferential } from '../bench/differential-run.ts';

describe('differential: fast book vs reference book', () => {
  it('200,000 commands of the rich stream: identical results, events and state hashes', () => {
    const report = runDifferential({ seed: 20_261_122, commands: 200_000, hashEvery: 25_000 });
    expect(report.commands).toBe(200_000);
    expect(report.trades).toBeGreaterThan(10_000);
    expect(report.hashChecks).toBe(9);
  }, 120_000);

  it('50,000 commands of the benchmark mix (deep book, ~750 levels)', () => {
    const report = runDifferential({
      seed: 7,
      commands: 50_000,
      stream: 'bench',
      hashEvery: 10_000,
      invariantCheckInterval: 10_000,
    });
    expect(report.trades).toBeGreaterThan(100);
  }, 120_000);
});
