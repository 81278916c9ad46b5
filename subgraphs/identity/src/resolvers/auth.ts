/** Query.me and the sign-in mutations. */
import type {
  MutationResolvers,
  QueryResolvers,
  AuthPayloadResolvers,
} from '../__generated__/resolvers-types.ts';

export const queryResolvers: QueryResolvers = {
  me: async (_parent, _args, { identity, loadUser }) => {
    if (identity.kind === 'anonymous') return null;
    const user = await loadUser(identity.userId);
    return user ? { user, access: 'private' } : null;
  },
};

export const mutationResolvers: MutationResolvers = {
  register: (_parent, { input }, { auth, requestId }) => auth.register(input, requestId),
  login: (_parent, { input }, { auth, requestId }) => auth.login(input, requestId),
  refreshSession: (_parent, { refreshToken }, { auth, requestId }) =>
    auth.refreshSession(refreshToken, requestId),
  logout: (_parent, _args, { auth, identity, requestId }) => auth.logout(identity, requestId),
};

export const authPayloadResolvers: AuthPayloadResolvers = {
  // Whoever holds the tokens just proved to be this user, even though the request itself was
  // anonymous (register, login) — they may read their own private fields.
  user: (payload) => ({ user: payload.user, access: 'private' }),
};
