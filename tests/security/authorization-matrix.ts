/**
 * The authorization matrix: for every root field of the composed API (schema/api.graphql), one
 * operation and the expected outcome for each of the nine principals. A field of the schema without
 * a row here fails the suite; so does a row whose API-key rule differs from the gateway's table
 * (gateway/src/auth/operation-policy.ts).
 *
 * Outcomes:
 *   'ok'       no errors, a non-null result
 *   'null'     no errors, null (the object does not exist for this caller)
 *   'allowed'  authorization passed; a business refusal (NOT_FOUND, BAD_USER_INPUT, ...) may follow
 *   CODE       the first error carries this extensions.code
 */
import { randomUUID } from 'node:crypto';
import type { ApiKeyRequirement } from '@graphex/gateway';
import type { Principal, PrincipalName } from './principals.ts';

export type Outcome = 'ok' | 'null' | 'allowed' | string;

export interface MatrixContext {
  readonly principals: Readonly<Record<PrincipalName, Principal>>;
}

export interface MatrixRow {
  /** Rule of the gateway for API keys (must equal rootFieldPolicy). */
  readonly apiKey: ApiKeyRequirement;
  readonly document: string;
  readonly variables?: (context: MatrixContext) => Record<string, unknown>;
  readonly expect: Readonly<Record<PrincipalName, Outcome>>;
  /** The call ends the caller's session(s): users run it on a fresh session and sign in again after. */
  readonly endsSessions?: boolean;
  /** Subscriptions are checked at the rule level (their socket behaviour is tested by the gateway). */
  readonly ruleOnly?: boolean;
}

const PQR = 'PERSISTED_QUERY_REQUIRED';
const UNAUTH = 'UNAUTHENTICATED';
const FORBIDDEN = 'FORBIDDEN';

/** Public market data: everyone, except that partners only run manifest operations. */
const everyone = (outcome: Outcome = 'ok') =>
  ({
    anonymous: outcome,
    userA: outcome,
    userB: outcome,
    readKey: outcome,
    tradeKey: outcome,
    partnerKey: PQR,
    support: outcome,
    compliance: outcome,
    admin: outcome,
  }) as const;

/** People acting on their own account; API keys are refused (SESSION rule). */
const people = (outcome: Outcome, anonymous: Outcome = UNAUTH) =>
  ({
    anonymous,
    userA: outcome,
    userB: outcome,
    readKey: FORBIDDEN,
    tradeKey: FORBIDDEN,
    partnerKey: PQR,
    support: outcome,
    compliance: outcome,
    admin: outcome,
  }) as const;

/** Signed-in staff with one of `roles` get `outcome`; other people FORBIDDEN; keys FORBIDDEN. */
const staff = (roles: ReadonlyArray<'support' | 'compliance' | 'admin'>, outcome: Outcome) =>
  ({
    anonymous: UNAUTH,
    userA: FORBIDDEN,
    userB: FORBIDDEN,
    readKey: FORBIDDEN,
    tradeKey: FORBIDDEN,
    partnerKey: PQR,
    support: roles.includes('support') ? outcome : FORBIDDEN,
    compliance: roles.includes('compliance') ? outcome : FORBIDDEN,
    admin: roles.includes('admin') ? outcome : FORBIDDEN,
  }) as const;

/** A key-capable operation: people and keys with `scope` get `outcome`. */
const scoped = (scope: 'READ' | 'TRADE' | 'WITHDRAW', outcome: Outcome, anonymous: Outcome = UNAUTH) =>
  ({
    anonymous,
    userA: outcome,
    userB: outcome,
    readKey: scope === 'READ' ? outcome : FORBIDDEN,
    tradeKey: scope === 'WITHDRAW' ? FORBIDDEN : outcome,
    partnerKey: PQR,
    support: outcome,
    compliance: outcome,
    admin: outcome,
  }) as const;

const unknownId = () => randomUUID();

export const authorizationMatrix: Readonly<Record<string, MatrixRow>> = {
  // --- Query ---
  'Query.me': { apiKey: 'READ', document: '{ me { id } }', expect: scoped('READ', 'ok', 'null') },
  'Query.markets': { apiKey: 'READ', document: '{ markets { symbol } }', expect: everyone() },
  'Query.market': {
    apiKey: 'READ',
    document: '{ market(symbol: "BTC-USDT") { symbol } }',
    expect: everyone(),
  },
  'Query.assets': { apiKey: 'READ', document: '{ assets { symbol } }', expect: everyone() },
  'Query.tickers': { apiKey: 'READ', document: '{ tickers { symbol } }', expect: everyone() },
  'Query.orderBook': {
    apiKey: 'READ',
    document: '{ orderBook(symbol: "BTC-USDT") { sequence } }',
    expect: everyone(),
  },
  'Query.trades': { apiKey: 'READ', document: '{ trades(symbol: "BTC-USDT") { id } }', expect: everyone() },
  'Query.candles': {
    apiKey: 'READ',
    document: '{ candles(symbol: "BTC-USDT", interval: "1m") { open } }',
    expect: everyone(),
  },
  'Query.order': {
    apiKey: 'READ',
    document: 'query($id: ID!) { order(id: $id) { id } }',
    variables: () => ({ id: unknownId() }),
    expect: scoped('READ', 'null'),
  },
  'Query.apiKeys': { apiKey: 'SESSION', document: '{ apiKeys { id } }', expect: people('ok') },
  'Query.kycCases': {
    apiKey: 'SESSION',
    document: '{ kycCases { id } }',
    expect: staff(['compliance', 'admin'], 'ok'),
  },
  'Query.auditLog': {
    apiKey: 'SESSION',
    document: '{ auditLog { id } }',
    expect: staff(['compliance', 'admin'], 'ok'),
  },
  'Query.ledgerReconciliation': {
    apiKey: 'SESSION',
    document: '{ ledgerReconciliation { ok } }',
    expect: staff(['compliance', 'admin'], 'ok'),
  },
  'Query.withdrawals': {
    apiKey: 'SESSION',
    document: '{ withdrawals { id } }',
    expect: staff(['support', 'compliance', 'admin'], 'ok'),
  },

  // --- Mutation: sessions and sign-in ---
  'Mutation.register': {
    apiKey: 'SESSION',
    document: 'mutation($i: RegisterInput!) { register(input: $i) { user { id } } }',
    variables: () => ({
      i: { email: `matrix-${randomUUID().slice(0, 8)}@security.test`, password: 'Matrix-Pass-123' },
    }),
    expect: people('ok', 'ok'),
  },
  'Mutation.login': {
    apiKey: 'SESSION',
    document: 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }',
    variables: () => ({
      i: { email: `nobody-${randomUUID().slice(0, 8)}@security.test`, password: 'Wrong-Pass-123' },
    }),
    expect: people('INVALID_CREDENTIALS', 'INVALID_CREDENTIALS'),
  },
  'Mutation.refreshSession': {
    apiKey: 'SESSION',
    document: 'mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }',
    variables: () => ({ t: `gxr_${'x'.repeat(43)}` }),
    expect: people(UNAUTH),
  },
  'Mutation.logout': {
    apiKey: 'SESSION',
    document: 'mutation { logout }',
    expect: people('ok'),
    endsSessions: true,
  },
  'Mutation.logoutAll': {
    apiKey: 'SESSION',
    document: 'mutation { logoutAll }',
    expect: people('ok'),
    endsSessions: true,
  },
  'Mutation.enrollTwoFactor': {
    apiKey: 'SESSION',
    document: 'mutation { enrollTwoFactor { secret } }',
    expect: people('ok'),
  },
  'Mutation.confirmTwoFactor': {
    apiKey: 'SESSION',
    document: 'mutation { confirmTwoFactor(code: "000000") { id } }',
    expect: people('allowed'),
  },
  'Mutation.disableTwoFactor': {
    apiKey: 'SESSION',
    document: 'mutation { disableTwoFactor(code: "000000") { id } }',
    expect: people('INVALID_STATE_TRANSITION'),
  },
  'Mutation.createApiKey': {
    apiKey: 'SESSION',
    document:
      'mutation { createApiKey(input: { name: "m", scopes: [TRADE], totpCode: "000000" }) { secret } }',
    // None of the matrix's people has 2FA: authorized, then refused for the missing second factor.
    expect: people('TWO_FACTOR_REQUIRED'),
  },
  'Mutation.revokeApiKey': {
    apiKey: 'SESSION',
    document: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
    variables: () => ({ id: unknownId() }),
    expect: people('NOT_FOUND'),
  },
  'Mutation.submitKyc': {
    apiKey: 'SESSION',
    document:
      'mutation { submitKyc(input: { firstName: "A", lastName: "B", dateOfBirth: "1990-01-01", country: "GB", documents: [] }) { id } }',
    expect: people('BAD_USER_INPUT'),
  },

  // --- Mutation: staff ---
  'Mutation.setUserRole': {
    apiKey: 'SESSION',
    document: 'mutation($u: ID!) { setUserRole(userId: $u, role: USER) { role } }',
    variables: ({ principals }) => ({ u: principals.userB.userId }),
    expect: staff(['admin'], 'ok'),
  },
  'Mutation.reviewKyc': {
    apiKey: 'SESSION',
    document: 'mutation($c: ID!) { reviewKyc(caseId: $c, decision: REJECT, reason: "matrix") { id } }',
    variables: () => ({ c: unknownId() }),
    expect: staff(['compliance', 'admin'], 'NOT_FOUND'),
  },
  'Mutation.adminAdjustBalance': {
    apiKey: 'SESSION',
    document:
      'mutation($u: ID!) { adminAdjustBalance(userId: $u, currency: "BTC", amount: "0.00000001", reason: "matrix") { total } }',
    variables: ({ principals }) => ({ u: principals.userB.userId }),
    expect: staff(['admin'], 'ok'),
  },

  // --- Mutation: trading and money ---
  'Mutation.createDepositAddress': {
    apiKey: 'READ',
    document: 'mutation { createDepositAddress(currency: "ETH") { address } }',
    expect: scoped('READ', 'ok'),
  },
  'Mutation.placeOrder': {
    apiKey: 'TRADE',
    document:
      'mutation { placeOrder(input: { symbol: "BTC-USDT", side: BUY, type: LIMIT, price: "1.00", quantity: "0.001" }) { id } }',
    expect: scoped('TRADE', 'allowed'),
  },
  'Mutation.cancelOrder': {
    apiKey: 'TRADE',
    document: 'mutation($id: ID!) { cancelOrder(id: $id) { id } }',
    variables: () => ({ id: unknownId() }),
    expect: scoped('TRADE', 'allowed'),
  },
  'Mutation.cancelAllOrders': {
    apiKey: 'TRADE',
    document: 'mutation { cancelAllOrders(symbol: "BTC-USDT") { id } }',
    expect: scoped('TRADE', 'allowed'),
  },
  'Mutation.requestWithdrawal': {
    apiKey: 'WITHDRAW',
    document:
      'mutation { requestWithdrawal(input: { currency: "ETH", amount: "0.1", address: "0x000000000000000000000000000000000000dEaD", totpCode: "000000", idempotencyKey: "matrix" }) { id } }',
    expect: scoped('WITHDRAW', 'allowed'),
  },
  'Mutation.reviewWithdrawal': {
    apiKey: 'SESSION',
    document: 'mutation($id: ID!) { reviewWithdrawal(id: $id, decision: REJECT, reason: "matrix") { id } }',
    variables: () => ({ id: unknownId() }),
    expect: staff(['compliance', 'admin'], 'allowed'),
  },
  'Mutation.retryWithdrawal': {
    apiKey: 'SESSION',
    document: 'mutation($id: ID!) { retryWithdrawal(id: $id) { id } }',
    variables: () => ({ id: unknownId() }),
    expect: staff(['admin'], 'allowed'),
  },
  'Mutation.failWithdrawal': {
    apiKey: 'SESSION',
    document: 'mutation($id: ID!) { failWithdrawal(id: $id, reason: "matrix") { id } }',
    variables: () => ({ id: unknownId() }),
    expect: staff(['admin'], 'allowed'),
  },
  'Mutation.addWithdrawalAddress': {
    apiKey: 'SESSION',
    document:
      'mutation { addWithdrawalAddress(address: "0x000000000000000000000000000000000000dEaD", totpCode: "000000") }',
    expect: people('allowed'),
  },
  'Mutation.removeWithdrawalAddress': {
    apiKey: 'SESSION',
    document:
      'mutation { removeWithdrawalAddress(address: "0x000000000000000000000000000000000000dEaD", totpCode: "000000") }',
    expect: people('allowed'),
  },

  // --- Subscription (rule level) ---
  'Subscription.orderBook': { apiKey: 'READ', document: '', expect: everyone(), ruleOnly: true },
  'Subscription.trades': { apiKey: 'READ', document: '', expect: everyone(), ruleOnly: true },
  'Subscription.ticker': { apiKey: 'READ', document: '', expect: everyone(), ruleOnly: true },
  'Subscription.myOrders': { apiKey: 'READ', document: '', expect: scoped('READ', 'ok'), ruleOnly: true },
  'Subscription.myFills': { apiKey: 'READ', document: '', expect: scoped('READ', 'ok'), ruleOnly: true },
};
