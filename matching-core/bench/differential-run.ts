/**
 * Differential run: the fast engine and the reference engine (deliberately simple book) are fed
 * the same seeded stream; every result and every event must be identical, and so must the state
 * hashes at checkpoints and at the end.
 */
import type { Command, CoreEvent } from '@graphex/schema';
import { MatchingEngine } from '../src/engine.ts';
import { stateHash } from '../src/state.ts';
import { benchGenerator, richGenerator } from './stream.ts';

const json = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

export interface DifferentialOptions {
  readonly seed: number;
  readonly commands: number;
  readonly stream?: 'rich' | 'bench';
  readonly hashEvery?: number;
  readonly invariantCheckInterval?: number;
  readonly onProgress?: (done: number) => void;
}

export interface DifferentialReport {
  readonly commands: number;
  readonly events: number;
  readonly trades: number;
  readonly hashChecks: number;
  readonly finalHash: string;
}

export class DivergenceError extends Error {
  override name = 'DivergenceError';
}

export function runDifferential(options: DifferentialOptions): DifferentialReport {
  const config = { invariantCheckInterval: options.invariantCheckInterval ?? 5_000 };
  const fast = new MatchingEngine({ ...config, book: 'fast' });
  const reference = new MatchingEngine({ ...config, book: 'reference' });
  const generator = options.stream === 'bench' ? benchGenerator(options.seed) : richGenerator(options.seed);
  const hashEvery = options.hashEvery ?? 20_000;
  let events = 0;
  let trades = 0;
  let hashChecks = 0;
  const step = (command: Command): void => {
    const a = fast.execute(command);
    const b = reference.execute(command);
    const ja = json(a);
    if (ja !== json(b)) {
      throw new DivergenceError(
        `seq ${command.seq} ${json(command)}\nfast:      ${ja}\nreference: ${json(b)}`,
      );
    }
    generator.observe(a.events);
    events += a.events.length;
    for (const e of a.events as CoreEvent[]) if (e.type === 'Trade') trades += 1;
  };
  for (const command of generator.setup()) step(command);
  for (let i = 1; i <= options.commands; i += 1) {
    step(generator.next());
    if (i % hashEvery === 0) {
      const h = stateHash(fast);
      if (h !== stateHash(reference)) throw new DivergenceError(`state hash differs after ${i} commands`);
      hashChecks += 1;
      options.onProgress?.(i);
    }
  }
  const finalHash = stateHash(fast);
  if (finalHash !== stateHash(reference)) throw new DivergenceError('final state hash differs');
  fast.assertInvariants();
  reference.assertInvariants();
  return { commands: options.commands, events, trades, hashChecks: hashChecks + 1, finalHash };
}
