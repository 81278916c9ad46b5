/**
 * The core side of a withdrawal: WithdrawHold / WithdrawSettle / WithdrawRelease with the same
 * exactly-once discipline as deposit credits — intent recorded (core_intent + the core's last event
 * seq), command sent, outcome stored with the transition in one DB transaction. An unknown outcome
 * is resolved from the core's event log by withdrawal id (the FundsMoved WITHDRAW_* event that
 * carries it). The core's withdrawal id makes a resubmission harmless: a second hold of the same id
 * is refused (WITHDRAWAL_EXISTS) and a second settle/release finds no hold (WITHDRAWAL_NOT_FOUND).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, parseDecimal, type Database } from '@graphex/runtime';
import { ResultCode, type CoreClient, type PublicCoreEvent } from '@graphex/schema';
import {
  decimalsOf,
  defaultAmlSettings,
  screenWithdrawal,
  withdrawalCurrencies,
  type AmlConfig,
  type WithdrawalCurrency,
} from '../domain/withdrawal.ts';
import { applyTransitions, recentWithdrawals, type WithdrawalRow } from '../store/withdrawals.ts';
import { scanCoreEvents } from './watcher.ts';

export type FundsMoved = Extract<PublicCoreEvent, { type: 'FundsMoved' }>;
export type WithdrawKind = 'WITHDRAW_HOLD' | 'WITHDRAW_SETTLE' | 'WITHDRAW_RELEASE';

export const dayMs = 24 * 60 * 60 * 1000;

/** Core asset ids of ETH and USDT, from the AssetAdded events at the start of the core's log. */
export async function coreAssetIds(core: CoreClient): Promise<ReadonlyMap<WithdrawalCurrency, number>> {
  const found = new Map<WithdrawalCurrency, number>();
  await scanCoreEvents(core, 0, (event) => {
    if (event.type === 'AssetAdded' && (withdrawalCurrencies as readonly string[]).includes(event.symbol)) {
      found.set(event.symbol as WithdrawalCurrency, event.assetId);
    }
    return found.size === withdrawalCurrencies.length;
  });
  if (found.size !== withdrawalCurrencies.length) throw new Error("The core's catalog lacks ETH or USDT");
  return found;
}

export function matchWithdrawEvent(
  events: readonly PublicCoreEvent[],
  kind: WithdrawKind,
  coreWithdrawalId: number,
): FundsMoved | undefined {
  return events.find(
    (event): event is FundsMoved =>
      event.type === 'FundsMoved' && event.kind === kind && event.withdrawalId === coreWithdrawalId,
  );
}

/** The core's FundsMoved `kind` event of this withdrawal after `afterEventSeq`, if there is one. */
export async function findWithdrawEvent(
  core: CoreClient,
  afterEventSeq: number,
  kind: WithdrawKind,
  coreWithdrawalId: number,
): Promise<FundsMoved | undefined> {
  let match: FundsMoved | undefined;
  await scanCoreEvents(core, afterEventSeq, (event) => {
    match = matchWithdrawEvent([event], kind, coreWithdrawalId);
    return match !== undefined;
  });
  return match;
}

/**
 * The hold is acknowledged: REQUESTED → HELD → APPROVED, or → PENDING_REVIEW with the AML flags,
 * in one DB transaction (velocity counted over the user's other withdrawals of the last 24h).
 */
export async function recordHold(
  db: Database,
  withdrawal: WithdrawalRow,
  holdEventSeq: number,
  aml: AmlConfig,
): Promise<WithdrawalRow> {
  return db.transaction(async (tx) => {
    const recent = await recentWithdrawals(tx, withdrawal.userId, withdrawal.currency, dayMs);
    const flags = screenWithdrawal(aml, {
      currency: withdrawal.currency,
      amountBaseUnits: withdrawal.amountBaseUnits,
      address: withdrawal.address,
      // `recent` includes this withdrawal (REQUESTED counts).
      recentCount: recent.count - 1,
      recentUnitsInCurrency: recent.unitsInCurrency - withdrawal.amountBaseUnits,
    });
    return applyTransitions(tx, withdrawal.transactionId, [
      {
        from: ['REQUESTED'],
        to: 'HELD',
        changes: { coreIntent: null, coreIntentAfterEventSeq: null, holdEventSeq },
      },
      flags.length > 0
        ? { from: ['HELD'], to: 'PENDING_REVIEW', changes: { amlFlags: flags }, reason: flags.join(',') }
        : { from: ['HELD'], to: 'APPROVED' },
    ]);
  });
}

export type HoldOutcome =
  | { readonly kind: 'held'; readonly withdrawal: WithdrawalRow }
  | { readonly kind: 'refused'; readonly resultCode: number };

/**
 * Sends the WithdrawHold of a REQUESTED withdrawal whose HOLD intent is recorded. Held → the
 * transitions above; refused (insufficient funds…) → the caller decides what a refusal means.
 * Throws when the outcome is unknown (the intent stays; resolved later from the event log).
 */
export async function submitHold(
  db: Database,
  core: CoreClient,
  withdrawal: WithdrawalRow,
  assetId: number,
  aml: AmlConfig,
): Promise<HoldOutcome> {
  const outcome = await core.submit({
    type: 'WithdrawHold',
    userId: withdrawal.userId,
    assetId,
    withdrawalId: withdrawal.coreWithdrawalId,
    amountUnits: withdrawal.amountBaseUnits,
  });
  if (outcome.result.code === ResultCode.WITHDRAWAL_EXISTS) {
    // An earlier submit of this very hold got through: its event is in the log.
    const event = await findWithdrawEvent(
      core,
      withdrawal.coreIntentAfterEventSeq ?? 0,
      'WITHDRAW_HOLD',
      withdrawal.coreWithdrawalId,
    );
    if (!event)
      throw new Error(`Core says withdrawal ${withdrawal.coreWithdrawalId} exists but has no hold event`);
    return { kind: 'held', withdrawal: await recordHold(db, withdrawal, event.eventSeq, aml) };
  }
  if (outcome.result.code !== ResultCode.OK) return { kind: 'refused', resultCode: outcome.result.code };
  const event = matchWithdrawEvent(outcome.events, 'WITHDRAW_HOLD', withdrawal.coreWithdrawalId);
  if (!event) throw new Error(`Core WithdrawHold seq ${outcome.result.seq} produced no WITHDRAW_HOLD event`);
  return { kind: 'held', withdrawal: await recordHold(db, withdrawal, event.eventSeq, aml) };
}

// ---------------------------------------------------------------------------------------------
// AML settings

/** AML settings from the environment (defaults in `defaultAmlSettings`) and DATA_DIR. */
export function amlConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string | null,
): AmlConfig {
  const setting = (name: keyof typeof defaultAmlSettings): string => env[name] || defaultAmlSettings[name];
  const amount = (name: keyof typeof defaultAmlSettings, currency: WithdrawalCurrency): bigint => {
    try {
      const units = parseDecimal(setting(name), decimalsOf(currency), name);
      if (units < 0n) throw new Error('negative');
      return units;
    } catch {
      throw new ConfigError(`${name} must be a non-negative ${currency} amount, e.g. "10.5".`);
    }
  };
  const countRaw = setting('AML_VELOCITY_MAX_COUNT');
  if (!/^\d{1,6}$/.test(countRaw)) throw new ConfigError('AML_VELOCITY_MAX_COUNT must be an integer.');
  const sanctioned = new Set<string>();
  const addAll = (text: string, origin: string): void => {
    for (const raw of text.split(/[\s,]+/)) {
      const entry = raw.replace(/#.*$/, '').trim();
      if (entry === '') continue;
      if (!/^0x[0-9a-fA-F]{40}$/.test(entry)) {
        throw new ConfigError(`${origin}: "${entry.slice(0, 50)}" is not an Ethereum address.`);
      }
      sanctioned.add(entry.toLowerCase());
    }
  };
  addAll(env['AML_SANCTIONED_ADDRESSES'] ?? '', 'AML_SANCTIONED_ADDRESSES');
  if (dataDir) {
    const file = path.join(dataDir, 'sanctioned-addresses.txt');
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== null) {
      // One address per line; `#` starts a comment.
      addAll(
        text
          .split('\n')
          .map((line) => line.replace(/#.*$/, ''))
          .join('\n'),
        file,
      );
    }
  }
  return {
    amountThresholdUnits: {
      ETH: amount('AML_THRESHOLD_ETH', 'ETH'),
      USDT: amount('AML_THRESHOLD_USDT', 'USDT'),
    },
    velocityMaxCount: Number(countRaw),
    velocityMaxUnits: {
      ETH: amount('AML_VELOCITY_MAX_ETH', 'ETH'),
      USDT: amount('AML_VELOCITY_MAX_USDT', 'USDT'),
    },
    sanctionedAddresses: sanctioned,
  };
}
