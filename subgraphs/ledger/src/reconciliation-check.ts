/**
 * The reconciliation as a test or an operator runs it from outside: query `ledgerReconciliation`
 * over GraphQL (through the gateway or at the subgraph) and list every problem in words. The
 * cross-service e2e calls this after every scenario and expects `problems` to be empty.
 */

export const ledgerReconciliationQuery = `query LedgerReconciliation {
  ledgerReconciliation {
    sequence
    balanced
    ok
    chainBlockNumber
    custodyNote
    coreSequence
    lagEvents
    caughtUp
    assets {
      currency userAvailable userLocked pendingWithdrawals feeRevenue custody adjustments
      conservation ledgerMatchesCore custodyOnChain custodyMatchesChain
      mismatches { userId currency ledgerAvailable ledgerLocked coreAvailable coreLocked }
    }
  }
}`;

export interface LedgerReconciliationResult {
  readonly sequence: number;
  readonly balanced: boolean;
  readonly ok: boolean;
  readonly chainBlockNumber: number | null;
  readonly custodyNote: string | null;
  readonly coreSequence: number | null;
  readonly lagEvents: number | null;
  readonly caughtUp: boolean;
  readonly assets: ReadonlyArray<{
    readonly currency: string;
    readonly userAvailable: string;
    readonly userLocked: string;
    readonly pendingWithdrawals: string;
    readonly feeRevenue: string;
    readonly custody: string;
    readonly adjustments: string;
    readonly conservation: boolean;
    readonly ledgerMatchesCore: boolean;
    readonly custodyOnChain: string | null;
    readonly custodyMatchesChain: boolean | null;
    readonly mismatches: ReadonlyArray<Record<string, string>>;
  }>;
}

/**
 * Runs the query at `url` with `headers` (e.g. an ADMIN's `authorization`) and returns the report
 * and its problems; throws when the query itself fails. `requireChain` lists currencies whose
 * custody-vs-chain figure must be known (for scenarios that run a chain: e.g. ['ETH', 'USDT']);
 * an unknown figure of another currency is not a problem.
 */
export async function checkLedgerReconciliation(
  url: string,
  headers: Record<string, string>,
  options: { readonly requireChain?: readonly string[] } = {},
): Promise<{ report: LedgerReconciliationResult; problems: string[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: ledgerReconciliationQuery }),
  });
  const body = (await response.json()) as {
    data?: { ledgerReconciliation: LedgerReconciliationResult } | null;
    errors?: Array<{ message: string }>;
  };
  if (!body.data?.ledgerReconciliation)
    throw new Error(`ledgerReconciliation failed: ${JSON.stringify(body.errors ?? body)}`);
  const report = body.data.ledgerReconciliation;
  const problems: string[] = [];
  if (!report.caughtUp)
    problems.push(
      report.coreSequence === null
        ? `at ${report.sequence}: the core's sequence is unknown (core unreachable)`
        : `at ${report.sequence}: the projection is ${report.lagEvents} events behind the core (${report.coreSequence})`,
    );
  if (!report.balanced) problems.push(`at ${report.sequence}: a journal transaction does not balance`);
  for (const asset of report.assets) {
    const at = `at ${report.sequence} ${asset.currency}`;
    if (!asset.conservation)
      problems.push(
        `${at}: conservation broken (available ${asset.userAvailable} + locked ${asset.userLocked} + withdrawing ${asset.pendingWithdrawals} + fees ${asset.feeRevenue} ≠ custody ${asset.custody} + adjustments ${asset.adjustments})`,
      );
    if (!asset.ledgerMatchesCore) problems.push(`${at}: ledger ≠ core ${JSON.stringify(asset.mismatches)}`);
    if (asset.custodyMatchesChain === false)
      problems.push(`${at}: custody ${asset.custody} ≠ chain ${asset.custodyOnChain}`);
    if (options.requireChain?.includes(asset.currency) && asset.custodyMatchesChain === null)
      problems.push(`${at}: custody vs chain unknown (${report.custodyNote ?? 'no note'})`);
  }
  if (!report.ok && problems.length === 0) problems.push(`at ${report.sequence}: ok is false`);
  return { report, problems };
}
