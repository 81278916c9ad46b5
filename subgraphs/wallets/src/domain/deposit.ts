/**
 * On-chain deposits, pure rules: identity of a deposit, confirmation counting, the deposit state
 * machine, and how a crash-recovered credit is recognised among the core's events.
 *
 * Deposit statuses (Transaction.status for type DEPOSIT):
 *   PENDING    seen in a block, fewer than the required confirmations (or its credit in flight)
 *   CONFIRMED  enough confirmations AND credited in the core (set in the same DB transaction as
 *              the credited marker, so CONFIRMED ⇔ credited)
 *   ORPHANED   its block left the canonical chain before it was confirmed; never credited. If the
 *              same (tx hash, log index) appears again in a new block it returns to PENDING.
 *   REJECTED   the core refused the credit (unknown asset): an operator case, never retried.
 */
import { createHash } from 'node:crypto';
import type { PublicCoreEvent } from '@graphex/schema';

export type DepositStatus = 'PENDING' | 'CONFIRMED' | 'ORPHANED' | 'REJECTED';

const transitions: Readonly<Record<DepositStatus, readonly DepositStatus[]>> = {
  PENDING: ['CONFIRMED', 'ORPHANED', 'REJECTED'],
  ORPHANED: ['PENDING'],
  CONFIRMED: [],
  REJECTED: [],
};

export function canTransition(from: DepositStatus, to: DepositStatus): boolean {
  return transitions[from].includes(to);
}

/** Log index of a native ETH transfer, which has no log. */
export const nativeTransferLogIndex = -1;

/**
 * Stable transaction id of the deposit (tx hash, log index) on `chain`: the same deposit seen
 * twice (restart, rescan after a reorg) always maps to the same row.
 */
export function depositTransactionId(chain: string, txHash: string, logIndex: number): string {
  if (!/^0x[0-9a-f]{64}$/.test(txHash)) throw new RangeError(`Not a lower-case tx hash: ${txHash}`);
  if (!Number.isSafeInteger(logIndex) || logIndex < nativeTransferLogIndex) {
    throw new RangeError(`Invalid log index ${logIndex}`);
  }
  const digest = createHash('sha256').update(`${chain}:${txHash}:${logIndex}`).digest('hex');
  return `dep_${digest.slice(0, 40)}`;
}

/** Confirmations of a transaction in block `blockNumber` when the chain head is `headNumber`. */
export function confirmationsAt(blockNumber: number, headNumber: number): number {
  return headNumber < blockNumber ? 0 : headNumber - blockNumber + 1;
}

export interface CreditIntent {
  readonly userId: string;
  readonly assetId: number;
  readonly amountBaseUnits: bigint;
}

/**
 * The core event that a Deposit command for `intent` produced, if it is among `events`. Sound
 * because the watcher is the only submitter of Deposit commands and has at most one in flight:
 * the first FundsMoved DEPOSIT with the same user, asset and amount after the intent's recorded
 * event position is that command's.
 */
export function findCreditEvent(
  events: readonly PublicCoreEvent[],
  intent: CreditIntent,
): Extract<PublicCoreEvent, { type: 'FundsMoved' }> | undefined {
  for (const event of events) {
    if (
      event.type === 'FundsMoved' &&
      event.kind === 'DEPOSIT' &&
      event.userId === intent.userId &&
      event.assetId === intent.assetId &&
      event.amountUnits === intent.amountBaseUnits
    ) {
      return event;
    }
  }
  return undefined;
}
