/**
 * What an API key may call, declared once per root field (DESIGN.md: bots use scoped keys,
 * partners persisted queries). Roles are enforced by the subgraphs from the signed identity; this
 * table is the edge's extra rule for API keys:
 *
 * - `READ`: every key (READ is always granted).
 * - `TRADE`: placing and cancelling orders.
 * - `WITHDRAW`: moving money out.
 * - `SESSION`: people only — sign-in, session, 2FA, key management, KYC, staff actions. An API key
 *   never acts as a person, whatever its owner's role.
 *
 * A root field without a rule is refused to every API key (fail closed), and the authorization
 * matrix test fails until the field is declared here and in tests/security.
 */
import type {
  DocumentNode,
  FragmentDefinitionNode,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import { Kind } from 'graphql';
import type { ApiKeyScope, Identity } from '@graphex/runtime';

export type ApiKeyRequirement = ApiKeyScope | 'SESSION';

export const rootFieldPolicy: Readonly<Record<string, ApiKeyRequirement>> = {
  // Queries
  'Query.me': 'READ',
  'Query.markets': 'READ',
  'Query.market': 'READ',
  'Query.assets': 'READ',
  'Query.tickers': 'READ',
  'Query.orderBook': 'READ',
  'Query.trades': 'READ',
  'Query.candles': 'READ',
  'Query.order': 'READ',
  'Query.apiKeys': 'SESSION',
  'Query.kycCases': 'SESSION',
  'Query.auditLog': 'SESSION',
  'Query.ledgerReconciliation': 'SESSION',
  'Query.withdrawals': 'SESSION',
  // Mutations
  'Mutation.register': 'SESSION',
  'Mutation.login': 'SESSION',
  'Mutation.refreshSession': 'SESSION',
  'Mutation.logout': 'SESSION',
  'Mutation.logoutAll': 'SESSION',
  'Mutation.enrollTwoFactor': 'SESSION',
  'Mutation.confirmTwoFactor': 'SESSION',
  'Mutation.disableTwoFactor': 'SESSION',
  'Mutation.createApiKey': 'SESSION',
  'Mutation.revokeApiKey': 'SESSION',
  'Mutation.setUserRole': 'SESSION',
  'Mutation.submitKyc': 'SESSION',
  'Mutation.reviewKyc': 'SESSION',
  'Mutation.adminAdjustBalance': 'SESSION',
  'Mutation.createDepositAddress': 'READ',
  'Mutation.placeOrder': 'TRADE',
  'Mutation.cancelOrder': 'TRADE',
  'Mutation.cancelAllOrders': 'TRADE',
  'Mutation.requestWithdrawal': 'WITHDRAW',
  'Mutation.reviewWithdrawal': 'SESSION',
  'Mutation.retryWithdrawal': 'SESSION',
  'Mutation.failWithdrawal': 'SESSION',
  // The allowlist guards withdrawals: only the person (with a TOTP code), never a key, changes it.
  'Mutation.addWithdrawalAddress': 'SESSION',
  'Mutation.removeWithdrawalAddress': 'SESSION',
  // Subscriptions
  'Subscription.orderBook': 'READ',
  'Subscription.trades': 'READ',
  'Subscription.ticker': 'READ',
  'Subscription.myOrders': 'READ',
  'Subscription.myFills': 'READ',
};

/** Root fields that sign people in: the gateway limits them per client IP. */
export const signInFields: ReadonlySet<string> = new Set([
  'Mutation.register',
  'Mutation.login',
  'Mutation.refreshSession',
]);

const rootTypeNames = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' } as const;

/** `Type.field` of every root field the operation selects (through fragments), deduplicated. */
export function rootFieldsOf(document: DocumentNode, operation: OperationDefinitionNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const typeName = rootTypeNames[operation.operation];
  const found = new Set<string>();
  const seen = new Set<string>();
  const walk = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) found.add(`${typeName}.${selection.name.value}`);
      else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return [...found];
}

/** Null when `identity` may call every field; otherwise why not. Only API keys are restricted. */
export function apiKeyRefusal(identity: Identity, rootFields: readonly string[]): string | null {
  if (identity.kind !== 'apiKey') return null;
  for (const field of rootFields) {
    const name = field.slice(field.indexOf('.') + 1);
    if (name === '__typename' || name === '__schema' || name === '__type') continue;
    const requirement = rootFieldPolicy[field];
    if (requirement === undefined) return `${field} has no API-key rule; API keys cannot call it.`;
    if (requirement === 'SESSION') return `${field} needs a signed-in person; API keys cannot call it.`;
    if (!identity.scopes.includes(requirement))
      return `${field} needs an API key with the ${requirement} scope.`;
  }
  return null;
}
