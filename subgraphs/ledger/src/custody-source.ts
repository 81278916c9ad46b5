/**
 * What the chain says the exchange holds for its users, from the wallets service's internal route
 * `GET /internal/custody` (not GraphQL, not routed by the gateway), called with a service token
 * like identity's internal routes. The answer:
 *
 *   { "available": boolean, "reason"?: string, "blockNumber": number,
 *     "assets": [{ "currency": "ETH", "userCustodyUnits": "<integer string>" }] }
 *
 * Anything short of a well-formed, available answer (watcher not configured, wallets down, a
 * malformed body) is "unknown" with a note saying why: reconciliation reports it as null, not as a
 * failure.
 */
import { serviceTokenHeader, signServiceToken } from '@graphex/runtime';
import type { CustodyReport } from './domain/reconciliation.ts';

export const walletsCustodyPath = '/internal/custody';

export interface CustodySource {
  read(): Promise<CustodyReport>;
}

export interface WalletsCustodySourceOptions {
  /** The wallets subgraph's URL (`subgraphUrl('wallets')`); the path is resolved against it. */
  readonly walletsUrl: string;
  readonly internalTokenSecret: string;
  readonly timeoutMs?: number;
}

/** Signed: a negative figure is a (loud) mismatch, not a malformed answer. */
const integerPattern = /^-?\d{1,78}$/;

/** Validates the route's JSON; a reason string when it is not what the contract says. */
export function parseCustodyAnswer(body: unknown): CustodyReport {
  if (typeof body !== 'object' || body === null)
    return { known: false, note: 'The wallets custody answer is not an object.' };
  const answer = body as Record<string, unknown>;
  if (answer['available'] !== true) {
    const reason = typeof answer['reason'] === 'string' ? answer['reason'] : 'no reason given';
    return { known: false, note: `The chain watcher cannot report custody: ${reason}.` };
  }
  const blockNumber = answer['blockNumber'];
  const assets = answer['assets'];
  if (typeof blockNumber !== 'number' || !Number.isSafeInteger(blockNumber) || !Array.isArray(assets))
    return { known: false, note: 'The wallets custody answer is malformed.' };
  const unitsByCurrency = new Map<string, bigint>();
  for (const asset of assets as unknown[]) {
    const row = asset as Record<string, unknown> | null;
    const currency = row?.['currency'];
    const units = row?.['userCustodyUnits'];
    if (typeof currency !== 'string' || typeof units !== 'string' || !integerPattern.test(units))
      return { known: false, note: 'The wallets custody answer is malformed.' };
    unitsByCurrency.set(currency, BigInt(units));
  }
  return { known: true, blockNumber, unitsByCurrency };
}

export function createWalletsCustodySource(options: WalletsCustodySourceOptions): CustodySource {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async read() {
      let response: Response;
      try {
        response = await fetch(new URL(walletsCustodyPath, options.walletsUrl), {
          headers: {
            [serviceTokenHeader]: await signServiceToken('ledger', options.internalTokenSecret, 60),
          },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        return { known: false, note: `The wallets service is unreachable (${(error as Error).message}).` };
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        return {
          known: false,
          note: `The wallets service answered HTTP ${response.status} on ${walletsCustodyPath}.`,
        };
      }
      try {
        return parseCustodyAnswer(await response.json());
      } catch {
        return { known: false, note: 'The wallets custody answer is not JSON.' };
      }
    },
  };
}
