/**
 * `User` fields. `id` is public; the rest are private (see domain/user.ts for the rule and why
 * a refused field is FORBIDDEN rather than a null entity).
 */
import { apiError } from '@graphex/schema';
import { withdrawalLimitsByTier } from '../domain/kyc.ts';
import { userAccessFor, type UserNode } from '../domain/user.ts';
import type { UserResolvers } from '../__generated__/resolvers-types.ts';

function privateField<T>(node: UserNode, field: string, read: (node: UserNode) => T): T {
  if (node.access !== 'private') {
    throw apiError('FORBIDDEN', `User.${field} is visible only to the user and to staff.`);
  }
  return read(node);
}

export const userResolvers: UserResolvers = {
  __resolveReference: async (reference, context) => {
    const user = await context.loadUser(reference.id);
    return user ? { user, access: userAccessFor(context.identity, user.id) } : null;
  },
  id: (node) => node.user.id,
  email: (node) => privateField(node, 'email', (n) => n.user.email),
  kycStatus: (node) => privateField(node, 'kycStatus', (n) => n.user.kycStatus),
  twoFactorEnabled: (node) => privateField(node, 'twoFactorEnabled', (n) => n.user.twoFactorEnabled),
  role: (node) => privateField(node, 'role', (n) => n.user.role),
  createdAt: (node) => privateField(node, 'createdAt', (n) => n.user.createdAt),
  kycTier: (node) => privateField(node, 'kycTier', (n) => n.user.kycTier),
  withdrawalLimits: (node) =>
    privateField(node, 'withdrawalLimits', (n) =>
      Object.entries(withdrawalLimitsByTier[n.user.kycTier]).map(([currency, limit24h]) => ({
        currency,
        limit24h,
      })),
    ),
};
