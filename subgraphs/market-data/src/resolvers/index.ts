import { DateTimeScalar, DecimalScalar } from '@graphex/runtime';
import type { Resolvers } from '../__generated__/resolvers-types.ts';
import { isPlausibleMarketSymbol } from '../domain/market.ts';

/**
 * Resolvers in the Apollo convention (`__resolveReference(reference, context, info)`, what the
 * generated types describe); `toMercuriusResolvers` adapts them to mercurius at the edge.
 * Market data is public: no identity check beyond the gateway signature verified per request.
 */
export const resolvers: Resolvers = {
  Decimal: DecimalScalar,
  DateTime: DateTimeScalar,
  Query: {
    markets: (_parent, _args, { referenceData }) => referenceData.markets(),
    // An implausible symbol can never name a market: null without a query (CONTRACT: unknown → null).
    market: (_parent, { symbol }, { referenceData }) =>
      isPlausibleMarketSymbol(symbol) ? referenceData.market(symbol) : null,
    assets: (_parent, _args, { referenceData }) => referenceData.assets(),
  },
  Market: {
    __resolveReference: (reference, { referenceData }) => referenceData.market(reference.symbol),
  },
  Asset: {
    __resolveReference: (reference, { referenceData }) => referenceData.asset(reference.symbol),
  },
};
