import { describe, expect, it } from 'vitest';
import {
  auditRecordHash,
  genesisHash,
  verifyAuditChain,
  type AuditRecord,
  type ChainedAuditRecord,
} from './audit-chain.ts';

function record(n: number): AuditRecord {
  return {
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    actorUserId: 'a',
    actorRole: 'ADMIN',
    action: 'ADMIN_ADJUST_BALANCE',
    requestId: `r${n}`,
    targetUserId: 'u',
    journalTransactionId: `t${n}`,
    reason: `reason ${n}`,
    details: { currency: 'BTC', amount: `${n}` },
  };
}

function chain(length: number): ChainedAuditRecord[] {
  const records: ChainedAuditRecord[] = [];
  let previous = genesisHash;
  for (let n = 1; n <= length; n++) {
    const hash = auditRecordHash(previous, record(n));
    records.push({ ...record(n), id: String(n), previousHash: previous, hash });
    previous = hash;
  }
  return records;
}

describe('audit chain', () => {
  it('verifies an intact chain and reports its head', () => {
    const records = chain(5);
    expect(verifyAuditChain(records)).toEqual({ ok: true, length: 5, headHash: records[4]!.hash });
    expect(verifyAuditChain([])).toEqual({ ok: true, length: 0, headHash: genesisHash });
  });

  it('hashes details independently of key order', () => {
    const a = record(1);
    expect(auditRecordHash(genesisHash, { ...a, details: { amount: '1', currency: 'BTC' } })).toBe(
      auditRecordHash(genesisHash, a),
    );
  });

  it('names the first edited, deleted or reordered record', () => {
    const edited = chain(5);
    edited[2] = { ...edited[2]!, reason: 'changed' };
    expect(verifyAuditChain(edited)).toEqual({ ok: false, firstBadId: '3', problem: 'HASH_MISMATCH' });

    const amount = chain(5);
    amount[1] = { ...amount[1]!, details: { ...amount[1]!.details, amount: '1000' } };
    expect(verifyAuditChain(amount)).toMatchObject({ ok: false, firstBadId: '2' });

    const deleted = chain(5);
    deleted.splice(1, 1);
    expect(verifyAuditChain(deleted)).toEqual({ ok: false, firstBadId: '3', problem: 'BROKEN_LINK' });

    const swapped = chain(5);
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(verifyAuditChain(swapped)).toEqual({ ok: false, firstBadId: '5', problem: 'BROKEN_LINK' });

    const rehashed = chain(5);
    // Re-hashing an edited record is not enough: the next record still links the old hash.
    const forged = { ...rehashed[1]!, reason: 'forged' };
    rehashed[1] = { ...forged, hash: auditRecordHash(forged.previousHash, forged) };
    expect(verifyAuditChain(rehashed)).toEqual({ ok: false, firstBadId: '3', problem: 'BROKEN_LINK' });
  });
});
