import { describe, expect, it } from 'vitest';
import {
  auditEntryHash,
  auditEventFromJson,
  auditEventToJson,
  auditGenesisHash,
  legacyAuditSourceKey,
  validateAuditEvent,
  verifyAuditChain,
  type AuditEvent,
  type AuditHashVersion,
  type ChainedAuditEntry,
} from './chain.ts';

const userId = '0b9d3c1e-2f4a-4b5c-8d6e-7f8091a2b3c4';

function event(n: number): AuditEvent {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    actor: userId,
    actorRole: 'USER',
    action: 'ORDER_PLACED',
    requestId: `req-${n}`,
    targetUserId: userId,
    details: { orderId: `o${n}`, quantity: '0.00100000', price: '65000.01' },
  };
}

/** A well-formed chain: `legacy` version-1 identity entries, then version-2 entries from two sources. */
function chain(length: number, legacy = 0): ChainedAuditEntry[] {
  const entries: ChainedAuditEntry[] = [];
  let previousHash = auditGenesisHash;
  for (let n = 1; n <= length; n++) {
    const id = String(n * 3); // ids need not be contiguous (rolled-back sequence values)
    const hashVersion: AuditHashVersion = n <= legacy ? 1 : 2;
    const source = hashVersion === 1 || n % 2 === 0 ? 'identity' : 'orders';
    const sourceKey = hashVersion === 1 ? legacyAuditSourceKey(id) : `k:${n}`;
    const content = { ...event(n), source, sourceKey };
    const hash = auditEntryHash(previousHash, content, hashVersion);
    entries.push({ ...content, id, hashVersion, previousHash, hash });
    previousHash = hash;
  }
  return entries;
}

describe('audit chain', () => {
  it('verifies a well-formed chain and reports its head', () => {
    const entries = chain(6, 2);
    expect(verifyAuditChain(entries, entries.at(-1)!.hash)).toEqual({
      ok: true,
      length: 6,
      headHash: entries.at(-1)!.hash,
    });
    expect(verifyAuditChain([])).toEqual({ ok: true, length: 0, headHash: auditGenesisHash });
  });

  it('keeps the hash of entries written before sources existed (version 1)', () => {
    // The exact canonical form identity used before: [previousHash, time, actor, role, action,
    // requestId, targetUserId, sorted details]; a chain stored by that release must still verify.
    const e = event(1);
    const legacy = auditEntryHash(auditGenesisHash, { ...e, source: 'x', sourceKey: 'y' }, 1);
    expect(legacy).toBe(
      auditEntryHash(auditGenesisHash, { ...e, source: 'identity', sourceKey: 'legacy:1' }, 1),
    );
    // Version 2 covers where the entry came from.
    const v2 = (source: string) => auditEntryHash(auditGenesisHash, { ...e, source, sourceKey: 'k' }, 2);
    expect(v2('orders')).not.toBe(v2('wallets'));
    expect(v2('orders')).not.toBe(legacy);
  });

  it('hashes details in key order, whatever order they were written in', () => {
    const e = event(1);
    const reversed = { ...e, details: Object.fromEntries(Object.entries(e.details).reverse()) };
    const at = (x: AuditEvent) => auditEntryHash(auditGenesisHash, { ...x, source: 's', sourceKey: 'k' });
    expect(at(reversed)).toBe(at(e));
  });

  it('names the edited entry', () => {
    const entries = chain(6, 2);
    for (const [index, edit] of [
      [3, { details: { ...entries[3]!.details, quantity: '1.00100000' } }],
      [4, { actor: 'someone-else' }],
      [5, { source: 'wallets' }],
      [2, { sourceKey: 'k:other' }],
      [1, { occurredAt: new Date(0) }],
      [0, { targetUserId: null }],
    ] as const) {
      const tampered = entries.map((entry, i) => (i === index ? { ...entry, ...edit } : entry));
      expect(verifyAuditChain(tampered), `edit at ${index}`).toMatchObject({
        ok: false,
        firstBadId: entries[index]!.id,
        problem: 'HASH_MISMATCH',
      });
    }
  });

  it('names the entry after a deleted one, and a cut-off end through the head', () => {
    const entries = chain(6);
    const deleted = entries.filter((_, i) => i !== 2);
    expect(verifyAuditChain(deleted)).toMatchObject({
      ok: false,
      firstBadId: entries[3]!.id,
      problem: 'BROKEN_LINK',
    });
    const head = entries.at(-1)!.hash;
    expect(verifyAuditChain(entries.slice(0, 5), head)).toMatchObject({
      ok: false,
      firstBadId: entries[4]!.id,
      problem: 'HEAD_MISMATCH',
    });
  });

  it('names the first moved entry when two are swapped (ids kept ascending)', () => {
    const entries = chain(6);
    // Swap the contents of positions 2 and 3 but keep the ids in place, as an UPDATE would.
    const swapped = entries.map((entry, i) =>
      i === 2 ? { ...entries[3]!, id: entry.id } : i === 3 ? { ...entries[2]!, id: entry.id } : entry,
    );
    expect(verifyAuditChain(swapped)).toMatchObject({ ok: false, firstBadId: entries[2]!.id });
    // Rows out of id order are malformed.
    const reordered = [entries[0]!, entries[2]!, entries[1]!, ...entries.slice(3)];
    expect(verifyAuditChain(reordered)).toMatchObject({ ok: false, firstBadId: entries[2]!.id });
  });

  it('names an inserted entry, even one that links correctly to its predecessor', () => {
    const entries = chain(5);
    const forgedContent = { ...event(99), source: 'orders', sourceKey: 'forged' };
    const forged: ChainedAuditEntry = {
      ...forgedContent,
      id: '7',
      hashVersion: 2,
      previousHash: entries[1]!.hash,
      hash: auditEntryHash(entries[1]!.hash, forgedContent),
    };
    const inserted = [...entries.slice(0, 2), forged, ...entries.slice(2)];
    expect(verifyAuditChain(inserted)).toMatchObject({
      ok: false,
      firstBadId: entries[2]!.id,
      problem: 'BROKEN_LINK',
    });
  });

  it('refuses legacy entries after current ones, legacy entries with another source, and duplicate keys', () => {
    const entries = chain(4, 2);
    const downgraded = entries.map((entry, i) => (i === 3 ? { ...entry, hashVersion: 1 as const } : entry));
    expect(verifyAuditChain(downgraded)).toMatchObject({
      ok: false,
      firstBadId: entries[3]!.id,
      problem: 'MALFORMED',
    });
    const relabelled = entries.map((entry, i) => (i === 1 ? { ...entry, source: 'orders' } : entry));
    expect(verifyAuditChain(relabelled)).toMatchObject({
      ok: false,
      firstBadId: entries[1]!.id,
      problem: 'MALFORMED',
    });
    // A well-linked chain with the same (source, key) twice: the second one is named.
    let previousHash = auditGenesisHash;
    const twice = [1, 2].map((n) => {
      const content = { ...event(n), source: 'orders', sourceKey: 'same' };
      const hash = auditEntryHash(previousHash, content);
      const entry: ChainedAuditEntry = { ...content, id: String(n), hashVersion: 2, previousHash, hash };
      previousHash = hash;
      return entry;
    });
    expect(verifyAuditChain(twice)).toMatchObject({ ok: false, firstBadId: '2', problem: 'DUPLICATE_KEY' });
  });

  it('validates events and round-trips them through JSON', () => {
    expect(validateAuditEvent(event(1))).toBeNull();
    expect(validateAuditEvent({ ...event(1), action: 'orderPlaced' })).toMatch(/UPPER_SNAKE/);
    expect(validateAuditEvent({ ...event(1), actor: '' })).toMatch(/actor/);
    expect(validateAuditEvent({ ...event(1), targetUserId: 'bob' })).toMatch(/targetUserId/);
    expect(validateAuditEvent({ ...event(1), occurredAt: new Date(Number.NaN) })).toMatch(/occurredAt/);
    expect(validateAuditEvent({ ...event(1), details: { amount: 1 as unknown as string } })).toMatch(
      /amount/,
    );
    const json = JSON.parse(JSON.stringify(auditEventToJson(event(7)))) as unknown;
    expect(auditEventFromJson(json)).toEqual(event(7));
    expect(auditEventFromJson({ ...(json as object), details: { n: 1 } })).toBeNull();
    expect(auditEventFromJson('nope')).toBeNull();
  });
});
