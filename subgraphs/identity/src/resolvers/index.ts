import { DateTimeScalar } from '@graphex/runtime';
import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { authPayloadResolvers, mutationResolvers, queryResolvers } from './auth.ts';
import { userResolvers } from './user.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: queryResolvers,
  Mutation: mutationResolvers,
  User: userResolvers,
  AuthPayload: authPayloadResolvers,
};
