import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '@graphex/schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { richGenerator } from '../bench/stream.ts';
import { DurableCore } from './durable-core.ts';
import { MatchingEngine } from './engine.ts';
import { listSegments } from './journal/journal.ts';
import { journalDir, recover } from './journal/recovery.ts';
import { exportState, importState, stateHash } from './state.ts';

describe('properties of random command streams', () => {
  it('conservation, holds = open orders, and an uncrossed book after every command', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 50, max: 600 }),
        (seed, length) => {
          // invariantCheckInterval 1: assertInvariants() runs inside execute() after every command
          const engine = new MatchingEngine({ invariantCheckInterval: 1 });
          const generator = richGenerator(seed, 8); // few users: more self-trades and contention
          for (const c of generator.setup()) generator.observe(engine.execute(c).events);
          for (let i = 0; i < length; i += 1) {
            const { result, events } = engine.execute(generator.next());
            expect(result.code).not.toBe(105);
            generator.observe(events);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a snapshot taken at any point restores to the same hash and the same future', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 300 }), (seed, cut) => {
        const live = new MatchingEngine();
        const generator = richGenerator(seed, 10);
        const commands: Command[] = generator.setup();
        for (const c of commands) generator.observe(live.execute(c).events);
        for (let i = 0; i < 300; i += 1) {
          const c = generator.next();
          commands.push(c);
          generator.observe(live.execute(c).events);
        }
        const replay = new MatchingEngine();
        const setupLength = commands.length - 300;
        for (const c of commands.slice(0, setupLength + cut)) replay.execute(c);
        const restored = importState(JSON.parse(JSON.stringify(exportState(replay))));
        expect(stateHash(restored)).toBe(stateHash(replay));
        for (const c of commands.slice(setupLength + cut)) restored.execute(c);
        expect(stateHash(restored)).toBe(stateHash(live));
      }),
      { numRuns: 25 },
    );
  });

  it('recovery (newest snapshot + journal) reproduces the live hash at random cut points, torn tail included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 20, max: 250 }),
        fc.integer({ min: 7, max: 120 }),
        fc.integer({ min: 1, max: 25 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (seed, length, snapshotEvery, batchSize, cutFraction) => {
          const dataDir = mkdtempSync(join(tmpdir(), 'graphex-prop-'));
          try {
            // Pre-pass: generate the stream against an in-memory engine (so cancel/amend targets
            // are real) and remember the live hash after every command.
            const shadow = new MatchingEngine();
            const hashes = new Map<number, string>([[0, stateHash(shadow)]]);
            const generator = richGenerator(seed, 10);
            const commands = generator.setup();
            for (const c of commands) generator.observe(shadow.execute(c).events);
            for (let i = 0; i < length; i += 1) {
              const c = generator.next();
              commands.push(c);
              generator.observe(shadow.execute(c).events);
              hashes.set(c.seq, stateHash(shadow));
            }
            const setupEnd = commands.length - length;
            const setupEngine = new MatchingEngine();
            for (const c of commands.slice(0, setupEnd)) {
              setupEngine.execute(c);
              hashes.set(c.seq, stateHash(setupEngine));
            }
            const core = DurableCore.open({ dataDir, snapshotEveryCommands: snapshotEvery });
            for (let i = 0; i < commands.length; i += batchSize)
              core.executeSequenced(commands.slice(i, i + batchSize));
            expect(core.stateHash()).toBe(hashes.get(core.lastSeq));
            core.close();
            // Crash: the newest segment is cut at an arbitrary byte (possibly mid-record).
            const segments = listSegments(journalDir(dataDir));
            const last = segments[segments.length - 1]!;
            const size = readFileSync(last.path).length;
            const cutAt = Math.floor(size * cutFraction);
            truncateSync(last.path, cutAt);
            const { engine, report } = recover(dataDir);
            expect(engine.lastSeq).toBeGreaterThanOrEqual(last.firstSeq - 1);
            expect(stateHash(engine)).toBe(hashes.get(engine.lastSeq));
            if (cutAt === size) expect(engine.lastSeq).toBe(commands.length);
            // Recovery truncated the torn tail: a second recovery is clean and identical.
            const again = recover(dataDir);
            expect(again.report.truncatedBytes).toBe(0);
            expect(stateHash(again.engine)).toBe(stateHash(engine));
            expect(report.lastSeq).toBe(engine.lastSeq);
          } finally {
            rmSync(dataDir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
