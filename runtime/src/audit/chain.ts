/**
 * The one hash-chained audit log of the exchange (DESIGN.md rule 8), pure part: what an audit event
 * is, how an entry's hash is computed and how a chain is verified. Identity stores the chain; every
 * other service ships its events to identity through its outbox (`outbox.ts`); the `audit:verify`
 * CLI recomputes every hash itself with this module, so a tampered service cannot vouch for itself.
 *
 * Each entry's hash covers its content, where it came from (`source`, `sourceKey`) and the previous
 * entry's hash, so editing, deleting, inserting or reordering an entry breaks the first link after it
 * and `verifyAuditChain` names that entry.
 */
import { createHash } from 'node:crypto';

/** `previousHash` of the first entry. */
export const auditGenesisHash = '0'.repeat(64);

export interface AuditEvent {
  readonly occurredAt: Date;
  /** A user id, `service:<name>`, `provider:<name>` or `system`. */
  readonly actor: string;
  /** USER, ADMIN, COMPLIANCE, SUPPORT, SERVICE, SYSTEM … */
  readonly actorRole: string;
  /** What happened, UPPER_SNAKE: ORDER_PLACED, WITHDRAWAL_REQUESTED, BALANCE_ADJUSTED … */
  readonly action: string;
  /** The request id, or e.g. `core:<eventSeq>` for events projected from the core. */
  readonly requestId: string;
  /** The user the action is about (a UUID), if any. */
  readonly targetUserId: string | null;
  /** Flat string map (amounts as decimal strings), hashed in key order. */
  readonly details: Readonly<Record<string, string>>;
}

/**
 * Hash format of an entry. 1: entries written by identity before the chain became exchange-wide
 * (no source in the hash; always source `identity`, key `legacy:<id>`, and only before any 2).
 * 2: the hash also covers `source` and `sourceKey`.
 */
export type AuditHashVersion = 1 | 2;
export const currentAuditHashVersion: AuditHashVersion = 2;

export interface ChainedAuditEntry extends AuditEvent {
  /** Position in the chain (bigint id as a decimal string), ascending. */
  readonly id: string;
  /** The service that recorded the event (`identity`, `orders`, `ledger`, `wallets` …). */
  readonly source: string;
  /** Idempotency key of the event within its source, e.g. `order:<id>:ACCEPTED`. */
  readonly sourceKey: string;
  readonly hashVersion: AuditHashVersion;
  readonly previousHash: string;
  readonly hash: string;
}

/** Source key given to the entries identity wrote before sources existed. */
export function legacyAuditSourceKey(id: string): string {
  return `legacy:${id}`;
}

/** Limits on one event (TIGER_STYLE: a limit on everything); `validateAuditEvent` enforces them. */
export const auditLimits = {
  maxTextLength: 256,
  maxDetails: 32,
  maxDetailValueLength: 1024,
  maxSourceKeyLength: 256,
} as const;

const actionPattern = /^[A-Z][A-Z0-9_]{0,63}$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const sourcePattern = /^[a-z][a-z0-9-]{0,31}$/;

/** A human-readable reason the event cannot enter the chain, or null when it is well formed. */
export function validateAuditEvent(event: AuditEvent): string | null {
  if (!(event.occurredAt instanceof Date) || Number.isNaN(event.occurredAt.getTime()))
    return 'occurredAt is not a valid time';
  if (!actionPattern.test(event.action)) return `action "${event.action}" is not UPPER_SNAKE`;
  for (const [name, value] of [
    ['actor', event.actor],
    ['actorRole', event.actorRole],
    ['requestId', event.requestId],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0 || value.length > auditLimits.maxTextLength)
      return `${name} must be a non-empty string of at most ${auditLimits.maxTextLength} characters`;
  }
  if (
    event.targetUserId !== null &&
    (typeof event.targetUserId !== 'string' || !uuidPattern.test(event.targetUserId))
  )
    return 'targetUserId must be a user id (UUID) or null';
  const entries = Object.entries(event.details);
  if (entries.length > auditLimits.maxDetails) return `more than ${auditLimits.maxDetails} details`;
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > 64) return `detail key "${key}" is empty or too long`;
    if (typeof value !== 'string' || value.length > auditLimits.maxDetailValueLength)
      return `detail "${key}" must be a string of at most ${auditLimits.maxDetailValueLength} characters`;
  }
  return null;
}

export function isAuditSource(source: string): boolean {
  return sourcePattern.test(source);
}

export function isAuditSourceKey(sourceKey: string): boolean {
  return sourceKey.length > 0 && sourceKey.length <= auditLimits.maxSourceKeyLength;
}

function sortedDetails(details: Readonly<Record<string, string>>): [string, string][] {
  return Object.keys(details)
    .sort()
    .map((key) => [key, details[key]!]);
}

/** The canonical hash of an entry chained after `previousHash`, in the entry's hash version. */
export function auditEntryHash(
  previousHash: string,
  entry: AuditEvent & { readonly source: string; readonly sourceKey: string },
  version: AuditHashVersion = currentAuditHashVersion,
): string {
  const content = [
    entry.occurredAt.toISOString(),
    entry.actor,
    entry.actorRole,
    entry.action,
    entry.requestId,
    entry.targetUserId,
    sortedDetails(entry.details),
  ];
  // Version 1 is exactly the pre-exchange-wide identity format, so chains written then still verify.
  const canonical =
    version === 1
      ? JSON.stringify([previousHash, ...content])
      : JSON.stringify(['v2', previousHash, entry.source, entry.sourceKey, ...content]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

export type AuditChainProblem =
  /** `previousHash` is not the hash of the entry before it (an entry was deleted, inserted or moved). */
  | 'BROKEN_LINK'
  /** The entry's content no longer hashes to its `hash` (it was edited). */
  | 'HASH_MISMATCH'
  /** Ids not strictly ascending, a legacy entry after a current one, or a legacy entry with a source. */
  | 'MALFORMED'
  /** The chain ends in a different hash than the recorded head (entries were cut off the end). */
  | 'HEAD_MISMATCH'
  /** The same (source, sourceKey) twice. */
  | 'DUPLICATE_KEY';

export type AuditChainCheck =
  | { readonly ok: true; readonly length: number; readonly headHash: string }
  | {
      readonly ok: false;
      /** Id of the first entry that does not fit; for HEAD_MISMATCH the last entry (or "0" if none). */
      readonly firstBadId: string;
      readonly problem: AuditChainProblem;
      readonly message: string;
    };

/**
 * Incremental verifier: feed entries in chain order (ascending id), page by page, then `finish`.
 * Holds only the last hash and the keys seen, so a long chain verifies in pages.
 */
export function createAuditChainVerifier(): {
  push(entry: ChainedAuditEntry): AuditChainCheck | null;
  finish(expectedHeadHash?: string | null): AuditChainCheck;
} {
  let previous = auditGenesisHash;
  let lastId: bigint | null = null;
  let lastIdText = '0';
  let length = 0;
  let seenCurrentVersion = false;
  let failure: AuditChainCheck | null = null;
  const keys = new Set<string>();
  const fail = (id: string, problem: AuditChainProblem, message: string): AuditChainCheck =>
    (failure = { ok: false, firstBadId: id, problem, message });
  return {
    push(entry) {
      if (failure) return failure;
      let id: bigint;
      try {
        id = BigInt(entry.id);
      } catch {
        return fail(entry.id, 'MALFORMED', `id "${entry.id}" is not an integer`);
      }
      if (lastId !== null && id <= lastId)
        return fail(entry.id, 'MALFORMED', `id does not ascend after ${lastIdText}`);
      if (entry.hashVersion === 1) {
        if (seenCurrentVersion)
          return fail(entry.id, 'MALFORMED', 'a legacy (version 1) entry after a version 2 entry');
        if (entry.source !== 'identity' || entry.sourceKey !== legacyAuditSourceKey(entry.id))
          return fail(entry.id, 'MALFORMED', 'a legacy (version 1) entry with a source other than identity');
      } else if (entry.hashVersion === 2) {
        seenCurrentVersion = true;
      } else {
        return fail(entry.id, 'MALFORMED', `unknown hash version ${String(entry.hashVersion)}`);
      }
      if (entry.previousHash !== previous)
        return fail(entry.id, 'BROKEN_LINK', 'previousHash is not the hash of the entry before it');
      if (auditEntryHash(previous, entry, entry.hashVersion) !== entry.hash)
        return fail(entry.id, 'HASH_MISMATCH', 'the content does not hash to the recorded hash');
      const key = JSON.stringify([entry.source, entry.sourceKey]);
      if (keys.has(key))
        return fail(entry.id, 'DUPLICATE_KEY', `${entry.source} ${entry.sourceKey} appears twice`);
      keys.add(key);
      previous = entry.hash;
      lastId = id;
      lastIdText = entry.id;
      length += 1;
      return null;
    },
    finish(expectedHeadHash) {
      if (failure) return failure;
      if (expectedHeadHash != null && expectedHeadHash !== previous)
        return fail(lastIdText, 'HEAD_MISMATCH', 'the chain ends in a different hash than the recorded head');
      return { ok: true, length, headHash: previous };
    },
  };
}

/** Verifies a whole chain in order; with `expectedHeadHash`, also that nothing was cut off its end. */
export function verifyAuditChain(
  entries: Iterable<ChainedAuditEntry>,
  expectedHeadHash?: string | null,
): AuditChainCheck {
  const verifier = createAuditChainVerifier();
  for (const entry of entries) {
    const failed = verifier.push(entry);
    if (failed) return failed;
  }
  return verifier.finish(expectedHeadHash);
}

/** JSON form of an event (in the outbox and on the wire): the time as an ISO string. */
export interface AuditEventJson {
  readonly occurredAt: string;
  readonly actor: string;
  readonly actorRole: string;
  readonly action: string;
  readonly requestId: string;
  readonly targetUserId: string | null;
  readonly details: Readonly<Record<string, string>>;
}

export function auditEventToJson(event: AuditEvent): AuditEventJson {
  return {
    occurredAt: event.occurredAt.toISOString(),
    actor: event.actor,
    actorRole: event.actorRole,
    action: event.action,
    requestId: event.requestId,
    targetUserId: event.targetUserId,
    details: { ...event.details },
  };
}

/** Parses an event from untrusted JSON; null when its shape is wrong (then also validate it). */
export function auditEventFromJson(value: unknown): AuditEvent | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const text = (x: unknown): x is string => typeof x === 'string';
  if (!text(v['occurredAt']) || !text(v['actor']) || !text(v['actorRole']) || !text(v['action'])) return null;
  if (!text(v['requestId']) || !(v['targetUserId'] === null || text(v['targetUserId']))) return null;
  const details = v['details'];
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return null;
  const detailMap: Record<string, string> = {};
  for (const [key, detail] of Object.entries(details as Record<string, unknown>)) {
    if (!text(detail)) return null;
    detailMap[key] = detail;
  }
  return {
    occurredAt: new Date(v['occurredAt']),
    actor: v['actor'],
    actorRole: v['actorRole'],
    action: v['action'],
    requestId: v['requestId'],
    targetUserId: v['targetUserId'],
    details: detailMap,
  };
}

/** An entry as the export route and the verifier exchange it (JSON). */
export interface ChainedAuditEntryJson extends AuditEventJson {
  readonly id: string;
  readonly source: string;
  readonly sourceKey: string;
  readonly hashVersion: AuditHashVersion;
  readonly previousHash: string;
  readonly hash: string;
}

export function chainedAuditEntryToJson(entry: ChainedAuditEntry): ChainedAuditEntryJson {
  return {
    ...auditEventToJson(entry),
    id: entry.id,
    source: entry.source,
    sourceKey: entry.sourceKey,
    hashVersion: entry.hashVersion,
    previousHash: entry.previousHash,
    hash: entry.hash,
  };
}

export function chainedAuditEntryFromJson(value: ChainedAuditEntryJson): ChainedAuditEntry {
  const event = auditEventFromJson(value);
  if (!event) throw new Error(`audit entry ${String(value.id)} is malformed`);
  return {
    ...event,
    id: value.id,
    source: value.source,
    sourceKey: value.sourceKey,
    hashVersion: value.hashVersion,
    previousHash: value.previousHash,
    hash: value.hash,
  };
}
