import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { join } from 'node:path';
import type { Command } from '@graphex/schema';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableCore } from '../durable-core.ts';
import { TestSequencer, limitOrder, referenceSetupCommands } from '../reference-setup.ts';
import { RecordWriter, crc32, scanRecords } from './codec.ts';
import { listSegments } from './journal.ts';
import { journalDir, recover, snapshotDir } from './recovery.ts';
import { listSnapshots } from './snapshot-store.ts';
import { stateHash } from '../state.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'graphex-core-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sampleCommands(): Command[] {
  const s = new TestSequencer();
  return [
    ...referenceSetupCommands.map((c) => s.stamp(c)),
    s.stamp({ type: 'Deposit', userId: 1, assetId: 2, amountUnits: 123_456_789_012_345_678_901_234_567n }),
    s.stamp({ type: 'AdminAdjust', userId: 1, assetId: 2, amountUnits: -(2n ** 70n) }),
    s.stamp({ type: 'WithdrawHold', userId: 1, assetId: 3, withdrawalId: 9, amountUnits: 1n }),
    s.stamp({ type: 'WithdrawSettle', withdrawalId: 9 }),
    s.stamp({ type: 'WithdrawRelease', withdrawalId: 10 }),
    s.stamp({ type: 'HaltMarket', marketId: 1 }),
    s.stamp({ type: 'ResumeMarket', marketId: 1 }),
    s.stamp(
      limitOrder(1, 1, 'BUY', 5_000_000, 3, {
        clientOrderId: 'ünïcødé-✓',
        selfTradePrevention: 'EXPIRE_BOTH',
        postOnly: true,
      }),
    ),
    s.stamp(
      limitOrder(1, 1, 'SELL', 0, 0, {
        orderType: 'STOP_MARKET',
        timeInForce: 'FOK',
        priceTicks: null,
        stopPriceTicks: 7,
        quantityLots: null,
        quoteBudgetUnits: 10n ** 20n,
      }),
    ),
    s.stamp({ type: 'CancelOrder', userId: 1, orderId: 12 }),
    s.stamp({ type: 'CancelAll', userId: 1, marketId: null }),
    s.stamp({ type: 'CancelAll', userId: 1, marketId: 2 }),
    s.stamp({ type: 'AmendOrder', userId: 1, orderId: 12, priceTicks: null, quantityLots: 9 }),
  ];
}

const normalize = (value: unknown) =>
  JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));

describe('codec', () => {
  it('crc32 matches zlib on every length and offset', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
    for (let start = 0; start < 9; start += 1) {
      for (let end = start; end < bytes.length; end += 7) {
        expect(crc32(bytes, start, end)).toBe(zlibCrc32(bytes.subarray(start, end)));
      }
    }
  });

  it('round-trips every command type exactly', () => {
    const commands = sampleCommands();
    const writer = new RecordWriter(64); // forces buffer growth
    for (const c of commands) writer.writeCommand(c);
    const scan = scanRecords(writer.buffer.subarray(0, writer.offset));
    expect(scan.torn).toBe(false);
    expect(normalize(scan.commands)).toEqual(normalize(commands));
  });

  it('drops a torn last record: short header, length past the end, bad checksum', () => {
    const commands = sampleCommands();
    const writer = new RecordWriter();
    for (const c of commands) writer.writeCommand(c);
    const bytes = writer.buffer.subarray(0, writer.offset);
    const lastStart =
      bytes.length -
      (scanRecords(bytes).validBytes - scanRecords(bytes.subarray(0, bytes.length - 1)).validBytes);
    for (const cut of [1, 3, 7, 9, 20]) {
      const scan = scanRecords(bytes.subarray(0, bytes.length - cut));
      expect(scan.torn).toBe(true);
      expect(scan.commands).toHaveLength(commands.length - 1);
      expect(scan.validBytes).toBe(lastStart);
    }
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 2]! ^= 0xff;
    const scan = scanRecords(flipped);
    expect(scan.torn).toBe(true);
    expect(scan.commands).toHaveLength(commands.length - 1);
  });
});

describe('durable core: journal, snapshots, recovery', () => {
  function feed(core: DurableCore, count: number): void {
    for (let i = 0; i < count; i += 1) {
      core.executeBatch(
        [
          { type: 'Deposit', userId: 1 + (i % 3), assetId: 3, amountUnits: 10_000_000n },
          limitOrder(1 + (i % 3), 1, i % 2 ? 'BUY' : 'SELL', 5_000_000 + (i % 7), 3),
        ],
        1_700_000_000_000 + i,
      );
    }
  }

  it('recovers the live state hash from snapshot + journal, across restarts', () => {
    const dataDir = tempDir();
    let core = DurableCore.open({ dataDir, snapshotEveryCommands: 15 });
    core.executeBatch(
      [
        ...referenceSetupCommands,
        { type: 'Deposit', userId: 1, assetId: 1, amountUnits: 10n ** 10n },
        { type: 'Deposit', userId: 2, assetId: 1, amountUnits: 10n ** 10n },
        { type: 'Deposit', userId: 3, assetId: 1, amountUnits: 10n ** 10n },
      ],
      1,
    );
    feed(core, 20);
    const hash = core.stateHash();
    const lastSeq = core.lastSeq;
    core.close();
    expect(listSnapshots(snapshotDir(dataDir)).length).toBeGreaterThan(0);
    core = DurableCore.open({ dataDir, snapshotEveryCommands: 15 });
    expect(core.recovery.lastSeq).toBe(lastSeq);
    expect(core.recovery.snapshotSeq).toBeGreaterThan(0);
    expect(core.stateHash()).toBe(hash);
    feed(core, 5);
    const hash2 = core.stateHash();
    core.close();
    expect(DurableCore.open({ dataDir }).stateHash()).toBe(hash2);
  });

  it('drops and truncates a torn final record; damage before the end is corruption', () => {
    const dataDir = tempDir();
    const core = DurableCore.open({ dataDir });
    core.executeBatch([...referenceSetupCommands], 1);
    feed(core, 3);
    const hash = core.stateHash();
    core.close();
    const segments = listSegments(journalDir(dataDir));
    const last = segments[segments.length - 1]!.path;
    appendFileSync(last, Buffer.from([40, 0, 0, 0, 1, 2, 3])); // a record header promising 40 bytes
    const { engine, report } = recover(dataDir);
    expect(report.truncatedBytes).toBe(7);
    expect(stateHash(engine)).toBe(hash);
  });

  it('refuses to recover when a segment before the last is damaged', () => {
    const dataDir = tempDir();
    const first = DurableCore.open({ dataDir });
    first.executeBatch([...referenceSetupCommands], 1);
    feed(first, 4);
    first.close();
    const second = DurableCore.open({ dataDir }); // every open continues in a new segment
    feed(second, 4);
    second.close();
    const segments = listSegments(journalDir(dataDir));
    expect(segments.length).toBeGreaterThan(1);
    const bytes = readFileSync(segments[0]!.path);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(segments[0]!.path, bytes);
    expect(() => recover(dataDir)).toThrow(/damaged before its end/);
  });

  it('falls back to an older snapshot when the newest is damaged', () => {
    const dataDir = tempDir();
    const core = DurableCore.open({ dataDir, snapshotEveryCommands: 10, keepSnapshots: 2 });
    core.executeBatch([...referenceSetupCommands], 1);
    feed(core, 12);
    const hash = core.stateHash();
    core.close();
    const snapshots = listSnapshots(snapshotDir(dataDir));
    expect(snapshots.length).toBe(2);
    writeFileSync(snapshots[0]!.path, 'garbage');
    const { engine, report } = recover(dataDir);
    expect(report.damagedSnapshots).toBe(1);
    expect(report.snapshotSeq).toBe(snapshots[1]!.lastSeq);
    expect(stateHash(engine)).toBe(hash);
  });
});
