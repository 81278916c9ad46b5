/**
 * The ledger's projection of the core's event log. One database transaction per batch writes the
 * journal (`core-journal.ts`: every money movement as a balanced transaction), the core's own
 * reported totals (`core_balances`) and the projection position, so redelivery changes nothing, a
 * replay from 0 into empty tables rebuilds the same journal, and at every stored position the
 * journal and the core's view are of the same sequence. Admin adjustments are audited here too
 * (BALANCE_ADJUSTED, joined to the intent `adminAdjustBalance` recorded before submitting), in the
 * same transaction that books them.
 */
import { enqueueAudits, type Database, type Queryable } from '@graphex/runtime';
import type { PublicCoreEvent } from '@graphex/schema';
import { adjustmentAuditRecord, matchAdjustmentIntents } from '../domain/admin-adjustment.ts';
import type { AssetCatalog } from '../domain/core-catalog.ts';
import { accountsTouchedBy, journalCoreEvents, type JournalBatch } from '../domain/core-journal.ts';
import type { AccountState } from '../domain/journal.ts';
import { catalogAdditions, coreStream, storeCatalogEvents, storeCoreBalances } from './core-balances.ts';
import { lockAccountStates, writeJournalBatch } from './journal-store.ts';
import { lockCandidateIntents, markIntentsBooked } from './adjustment-intents.ts';

export const maxEventsPerBatch = 1000;

/** Account states one `WrittenAccounts` keeps at most (least recently booked forgotten first). */
export const writtenAccountsMax = 50_000;

/**
 * The states of the accounts this instance's projection booked, as written, and the position they
 * are current at. Only the projection writes `ledger_accounts`, under the position lock: while the
 * stored position is still `position`, nobody changed them, and a batch need not read them back
 * (the journal statement still books each update only from the version and balance it expects —
 * the pair assertion stays in the database). Any other position empties it.
 */
export class WrittenAccounts {
  position = -1;
  readonly states = new Map<string, AccountState>();

  /** States of `keys` known here when the stored position is `position`; the rest must be read. */
  take(position: number, keys: Iterable<string>): { known: Map<string, AccountState>; missing: string[] } {
    if (position !== this.position) {
      this.states.clear();
      this.position = -1;
    }
    const known = new Map<string, AccountState>();
    const missing: string[] = [];
    for (const key of keys) {
      const state = this.states.get(key);
      if (state) known.set(key, state);
      else missing.push(key);
    }
    return { known, missing };
  }

  /** After a commit that moved the stored position to `position`. */
  committed(position: number, booked: JournalBatch['accounts'] | null): void {
    this.position = position;
    if (!booked) return;
    for (const [key, { after }] of booked) {
      this.states.delete(key);
      this.states.set(key, after);
    }
    while (this.states.size > writtenAccountsMax) this.states.delete(this.states.keys().next().value!);
  }
}

export class CoreProjectionError extends Error {
  override name = 'CoreProjectionError';
}

/** Locks the position row (creating it at 0); returns the last applied eventSeq. One round trip. */
async function lockPosition(tx: Queryable): Promise<number> {
  const locked = await tx.query<{ last_sequence: string }>(
    `INSERT INTO projection_positions (stream, last_sequence) VALUES ($1, 0)
     ON CONFLICT (stream) DO UPDATE SET last_sequence = projection_positions.last_sequence
     RETURNING last_sequence::text AS last_sequence`,
    [coreStream],
  );
  return Number(locked.rows[0]!.last_sequence);
}

/**
 * Writes the BALANCE_ADJUSTED audit record of every FundsMoved ADMIN_ADJUST in the batch into the
 * outbox (one statement), each joined to its intent (who asked and why), and marks the intents
 * booked. Costs nothing for a batch without adjustments.
 */
async function auditAdjustments(
  tx: Queryable,
  events: readonly PublicCoreEvent[],
  catalog: AssetCatalog,
): Promise<void> {
  const adjustments = events.filter(
    (event): event is Extract<PublicCoreEvent, { type: 'FundsMoved' }> =>
      event.type === 'FundsMoved' && event.kind === 'ADMIN_ADJUST',
  );
  if (adjustments.length === 0) return;
  const matches = matchAdjustmentIntents(adjustments, await lockCandidateIntents(tx, adjustments));
  const booked: Array<{ adjustmentId: string; eventSeq: number }> = [];
  const records = adjustments.map((event) => {
    const asset = catalog.byId(event.assetId);
    if (!asset)
      throw new CoreProjectionError(`FundsMoved ${event.eventSeq} names unknown asset ${event.assetId}.`);
    const intent = matches.get(event.eventSeq) ?? null;
    if (intent) booked.push({ adjustmentId: intent.adjustmentId, eventSeq: event.eventSeq });
    return adjustmentAuditRecord(event, asset.symbol, asset.decimals, intent);
  });
  await markIntentsBooked(tx, booked);
  await enqueueAudits(tx, records);
}

/**
 * Applies consecutive core events (≤ maxEventsPerBatch) in one transaction; returns the new
 * position. Events at or below the stored position are skipped (redelivery); a gap, or a core
 * and ledger that disagree (`CoreJournalError`), rolls the batch back and throws.
 */
export async function applyCoreEvents(
  db: Database,
  catalog: AssetCatalog,
  events: readonly PublicCoreEvent[],
  written?: WrittenAccounts,
): Promise<number> {
  if (events.length > maxEventsPerBatch)
    throw new RangeError(`At most ${maxEventsPerBatch} events per batch`);
  // Catalog events are facts of the log: learned from every delivered event, also those another
  // instance applied (this one then never stores them, but must know their assets and markets).
  const additions = catalogAdditions(events);
  const batchCatalog = additions.assets.length + additions.markets.length > 0 ? catalog.clone() : catalog;
  for (const asset of additions.assets) batchCatalog.add(asset);
  for (const market of additions.markets) batchCatalog.addMarket(market);
  const { position, booked, applied } = await db.transaction(async (tx) => {
    const stored = await lockPosition(tx);
    const fresh = events.filter((event) => event.eventSeq > stored);
    if (fresh.length === 0) return { position: stored, booked: null, applied: false };
    for (const [index, event] of fresh.entries()) {
      if (event.eventSeq !== stored + index + 1)
        throw new CoreProjectionError(
          `Gap in the core event log: expected eventSeq ${stored + index + 1}, got ${event.eventSeq}.`,
        );
    }
    await storeCatalogEvents(tx, fresh);
    const touched = accountsTouchedBy(fresh, batchCatalog);
    let booked: JournalBatch['accounts'] | null = null;
    if (touched.size > 0) {
      const { known: current, missing } = written
        ? written.take(stored, touched.keys())
        : { known: new Map<string, AccountState>(), missing: [...touched.keys()] };
      for (const [key, state] of await lockAccountStates(tx, missing)) current.set(key, state);
      const batch = journalCoreEvents(fresh, current, batchCatalog);
      await writeJournalBatch(tx, batch);
      booked = batch.accounts;
    }
    await auditAdjustments(tx, fresh, batchCatalog);
    await storeCoreBalances(tx, fresh);
    const position = fresh.at(-1)!.eventSeq;
    await tx.query('UPDATE projection_positions SET last_sequence = $2 WHERE stream = $1', [
      coreStream,
      position,
    ]);
    return { position, booked, applied: true };
  });
  if (written && applied) written.committed(position, booked);
  // Adopted once committed (here or by another instance): a rolled-back batch teaches nothing.
  for (const asset of additions.assets) catalog.add(asset);
  for (const market of additions.markets) catalog.addMarket(market);
  return position;
}
