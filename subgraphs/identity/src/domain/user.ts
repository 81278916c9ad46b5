/**
 * The user as identity stores it, and who may read which of its fields.
 *
 * Visibility rule (applies to every way a User is reached, including federation entity
 * references resolved for other subgraphs): `id` is public; all other fields are private and
 * readable only by the user themself or by staff (SUPPORT, COMPLIANCE, ADMIN). For anyone else a
 * private field fails with FORBIDDEN while `id` still resolves. We refuse the field rather than
 * null the entity because every User field is non-null in the contract: a silent null would
 * surface as a confusing null-propagation error far from its cause, whereas FORBIDDEN on the
 * exact path says what happened.
 */
import type { Identity, Role } from '@graphex/runtime';

export const kycStatuses = ['NONE', 'PENDING', 'APPROVED', 'REJECTED'] as const;
export type KycStatus = (typeof kycStatuses)[number];

export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly kycStatus: KycStatus;
  readonly twoFactorEnabled: boolean;
  /** 0 none, 1 basic, 2 enhanced: sets the 24h withdrawal limits. */
  readonly kycTier: 0 | 1 | 2;
  readonly createdAt: Date;
}

/** Whether the viewer may read the private fields of a user. */
export type UserAccess = 'private' | 'public';

/** A user as the GraphQL layer sees it: the record plus what this request may read of it. */
export interface UserNode {
  readonly user: UserRecord;
  readonly access: UserAccess;
}

export const staffRoles: readonly Role[] = ['SUPPORT', 'COMPLIANCE', 'ADMIN'];

/** What `identity` may read of the user `userId`. */
export function userAccessFor(identity: Identity, userId: string): UserAccess {
  if (identity.kind === 'anonymous') return 'public';
  if (identity.userId === userId) return 'private';
  return staffRoles.includes(identity.role) ? 'private' : 'public';
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids of users and sessions are UUIDs; anything else names nothing (and must not reach a uuid column). */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

export const isUserId = isUuid;
