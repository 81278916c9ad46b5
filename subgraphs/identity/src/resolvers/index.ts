import { DateTimeScalar, DecimalScalar } from '@graphex/runtime';
import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { authPayloadResolvers, mutationResolvers, queryResolvers } from './auth.ts';
import {
  apiKeyResolvers,
  auditRecordResolvers,
  createdApiKeyResolvers,
  kycCaseResolvers,
  securityMutationResolvers,
  securityQueryResolvers,
} from './security.ts';
import { userResolvers } from './user.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Decimal: DecimalScalar,
  Query: { ...queryResolvers, ...securityQueryResolvers },
  Mutation: { ...mutationResolvers, ...securityMutationResolvers },
  User: userResolvers,
  AuthPayload: authPayloadResolvers,
  ApiKey: apiKeyResolvers,
  CreatedApiKey: createdApiKeyResolvers,
  KycCase: kycCaseResolvers,
  AuditRecord: auditRecordResolvers,
};
