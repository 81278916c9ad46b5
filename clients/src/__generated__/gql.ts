/* eslint-disable */
import * as types from './graphql.ts';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query Overview {\n  me {\n    id\n    email\n    kycStatus\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n    orders(first: 5) {\n      totalCount\n    }\n    transactions(first: 5) {\n      id\n    }\n  }\n  markets {\n    symbol\n    tickSize\n    lotSize\n    makerFeeRate\n  }\n}\n\nmutation AdminAdjustBalance($userId: ID!, $currency: String!, $amount: Decimal!, $reason: String!) {\n  adminAdjustBalance(\n    userId: $userId\n    currency: $currency\n    amount: $amount\n    reason: $reason\n  ) {\n    currency\n    available\n    locked\n    total\n  }\n}": typeof types.OverviewDocument,
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}": typeof types.RegisterDocument,
    "query Markets {\n  markets {\n    symbol\n    baseCurrency\n    quoteCurrency\n    tickSize\n    lotSize\n    minNotional\n    makerFeeRate\n    takerFeeRate\n  }\n}": typeof types.MarketsDocument,
    "query Tickers {\n  tickers {\n    symbol\n    last\n    bestBid\n    bestAsk\n    volume24h\n  }\n}\n\nquery OrderBook($symbol: String!, $depth: Int) {\n  orderBook(symbol: $symbol, depth: $depth) {\n    symbol\n    sequence\n    bids {\n      price\n      quantity\n    }\n    asks {\n      price\n      quantity\n    }\n  }\n}\n\nquery RecentTrades($symbol: String!, $limit: Int) {\n  trades(symbol: $symbol, limit: $limit) {\n    id\n    price\n    quantity\n    takerSide\n    createdAt\n  }\n}\n\nquery Balances {\n  me {\n    id\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n  }\n}": typeof types.TickersDocument,
};
const documents: Documents = {
    "query Overview {\n  me {\n    id\n    email\n    kycStatus\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n    orders(first: 5) {\n      totalCount\n    }\n    transactions(first: 5) {\n      id\n    }\n  }\n  markets {\n    symbol\n    tickSize\n    lotSize\n    makerFeeRate\n  }\n}\n\nmutation AdminAdjustBalance($userId: ID!, $currency: String!, $amount: Decimal!, $reason: String!) {\n  adminAdjustBalance(\n    userId: $userId\n    currency: $currency\n    amount: $amount\n    reason: $reason\n  ) {\n    currency\n    available\n    locked\n    total\n  }\n}": types.OverviewDocument,
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}": types.RegisterDocument,
    "query Markets {\n  markets {\n    symbol\n    baseCurrency\n    quoteCurrency\n    tickSize\n    lotSize\n    minNotional\n    makerFeeRate\n    takerFeeRate\n  }\n}": types.MarketsDocument,
    "query Tickers {\n  tickers {\n    symbol\n    last\n    bestBid\n    bestAsk\n    volume24h\n  }\n}\n\nquery OrderBook($symbol: String!, $depth: Int) {\n  orderBook(symbol: $symbol, depth: $depth) {\n    symbol\n    sequence\n    bids {\n      price\n      quantity\n    }\n    asks {\n      price\n      quantity\n    }\n  }\n}\n\nquery RecentTrades($symbol: String!, $limit: Int) {\n  trades(symbol: $symbol, limit: $limit) {\n    id\n    price\n    quantity\n    takerSide\n    createdAt\n  }\n}\n\nquery Balances {\n  me {\n    id\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n  }\n}": types.TickersDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Overview {\n  me {\n    id\n    email\n    kycStatus\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n    orders(first: 5) {\n      totalCount\n    }\n    transactions(first: 5) {\n      id\n    }\n  }\n  markets {\n    symbol\n    tickSize\n    lotSize\n    makerFeeRate\n  }\n}\n\nmutation AdminAdjustBalance($userId: ID!, $currency: String!, $amount: Decimal!, $reason: String!) {\n  adminAdjustBalance(\n    userId: $userId\n    currency: $currency\n    amount: $amount\n    reason: $reason\n  ) {\n    currency\n    available\n    locked\n    total\n  }\n}"): (typeof documents)["query Overview {\n  me {\n    id\n    email\n    kycStatus\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n    orders(first: 5) {\n      totalCount\n    }\n    transactions(first: 5) {\n      id\n    }\n  }\n  markets {\n    symbol\n    tickSize\n    lotSize\n    makerFeeRate\n  }\n}\n\nmutation AdminAdjustBalance($userId: ID!, $currency: String!, $amount: Decimal!, $reason: String!) {\n  adminAdjustBalance(\n    userId: $userId\n    currency: $currency\n    amount: $amount\n    reason: $reason\n  ) {\n    currency\n    available\n    locked\n    total\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}"): (typeof documents)["mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    accessToken\n    refreshToken\n    user {\n      id\n      email\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Markets {\n  markets {\n    symbol\n    baseCurrency\n    quoteCurrency\n    tickSize\n    lotSize\n    minNotional\n    makerFeeRate\n    takerFeeRate\n  }\n}"): (typeof documents)["query Markets {\n  markets {\n    symbol\n    baseCurrency\n    quoteCurrency\n    tickSize\n    lotSize\n    minNotional\n    makerFeeRate\n    takerFeeRate\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Tickers {\n  tickers {\n    symbol\n    last\n    bestBid\n    bestAsk\n    volume24h\n  }\n}\n\nquery OrderBook($symbol: String!, $depth: Int) {\n  orderBook(symbol: $symbol, depth: $depth) {\n    symbol\n    sequence\n    bids {\n      price\n      quantity\n    }\n    asks {\n      price\n      quantity\n    }\n  }\n}\n\nquery RecentTrades($symbol: String!, $limit: Int) {\n  trades(symbol: $symbol, limit: $limit) {\n    id\n    price\n    quantity\n    takerSide\n    createdAt\n  }\n}\n\nquery Balances {\n  me {\n    id\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n  }\n}"): (typeof documents)["query Tickers {\n  tickers {\n    symbol\n    last\n    bestBid\n    bestAsk\n    volume24h\n  }\n}\n\nquery OrderBook($symbol: String!, $depth: Int) {\n  orderBook(symbol: $symbol, depth: $depth) {\n    symbol\n    sequence\n    bids {\n      price\n      quantity\n    }\n    asks {\n      price\n      quantity\n    }\n  }\n}\n\nquery RecentTrades($symbol: String!, $limit: Int) {\n  trades(symbol: $symbol, limit: $limit) {\n    id\n    price\n    quantity\n    takerSide\n    createdAt\n  }\n}\n\nquery Balances {\n  me {\n    id\n    accounts {\n      currency\n      available\n      locked\n      total\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;