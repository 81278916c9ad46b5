/**
 * The one error registry of the GraphEx API.
 *
 * Every error a client can see carries `extensions.code` from this closed set. Codes are never
 * renamed or removed (clients switch on them); a new code is added here with `addedIn`, and
 * `docs/errors.md` is regenerated from this file (`npm run errors:docs`, checked in CI).
 */
import { GraphQLError } from 'graphql';

export interface ErrorCodeSpec {
  /** What the code means to a client and what it can do about it. */
  readonly description: string;
  /** Version of the API that introduced the code. */
  readonly addedIn: string;
  /** HTTP status used when the error is the only outcome of a request (edge errors). */
  readonly httpStatus: number;
}

export const errorRegistry = {
  // --- the contract floor (CONTRACT.md) ---
  UNAUTHENTICATED: {
    description:
      'No valid credentials: the bearer token is missing, malformed, expired or revoked, or a subgraph was reached without a gateway-signed identity.',
    addedIn: '0.1.0',
    httpStatus: 401,
  },
  FORBIDDEN: {
    description: 'The caller is authenticated but its role or API-key scopes do not allow this operation.',
    addedIn: '0.1.0',
    httpStatus: 403,
  },
  BAD_USER_INPUT: {
    description:
      'An argument can never be valid: malformed decimal, negative or zero amount, too many decimals for the asset, unknown enum value, bad email, and similar. Nothing changed.',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  NOT_FOUND: {
    description: 'The object does not exist, or it exists but is not visible to the caller.',
    addedIn: '0.1.0',
    httpStatus: 404,
  },
  RATE_LIMITED: {
    description: 'Too many requests for this identity or IP; `extensions.retryAfterMs` says when to retry.',
    addedIn: '0.1.0',
    httpStatus: 429,
  },
  INSUFFICIENT_FUNDS: {
    description:
      'The available balance does not cover what the operation must hold or spend. No balance moved.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  MARKET_NOT_FOUND: {
    description: 'No market has this symbol.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  INVALID_TICK_SIZE: {
    description: "The price (or stop price) is not a multiple of the market's tick size.",
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  INVALID_LOT_SIZE: {
    description: "The quantity is not a multiple of the market's lot size.",
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  MIN_NOTIONAL: {
    description: "price × quantity is below the market's minimum notional.",
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  POST_ONLY_WOULD_TRADE: {
    description: 'A post-only order would have matched on arrival; it was refused and nothing changed.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  DUPLICATE_CLIENT_ORDER_ID: {
    description: 'This clientOrderId was already used by the same user for a different request.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  ORDER_NOT_OPEN: {
    description:
      'The order is already filled, cancelled, rejected or expired, so it cannot be cancelled or amended.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  KYC_REQUIRED: {
    description: 'The operation needs approved KYC (kycStatus APPROVED).',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  TWO_FACTOR_REQUIRED: {
    description:
      'A valid, unused TOTP code is required for this operation (login with 2FA enabled, withdrawals, API keys).',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  LIMIT_EXCEEDED: {
    description:
      'A configured limit would be exceeded: withdrawal tier limit over 24h, open orders per user or per market, and similar.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  QUERY_TOO_COMPLEX: {
    description: 'The operation exceeds the depth, cost, alias or token limits of the gateway.',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  PERSISTED_QUERY_NOT_FOUND: {
    description: 'The persisted-query hash is not known; resend the query text with its hash (APQ).',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  PERSISTED_QUERY_REQUIRED: {
    description: 'This API key may only run operations from the trusted-document manifest, by hash.',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  // --- platform codes ---
  MARKET_HALTED: {
    description: 'Trading on this market is halted; orders are refused until it resumes.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  ALREADY_EXISTS: {
    description: 'The object already exists (for example an account with this email).',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  INVALID_CREDENTIALS: {
    description: 'Email and password do not match an account. The same answer is given for unknown emails.',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  INVALID_STATE_TRANSITION: {
    description:
      'The object is not in a state that allows this transition (state machines refuse, never ignore).',
    addedIn: '0.1.0',
    httpStatus: 200,
  },
  SERVICE_UNAVAILABLE: {
    description: 'A service the operation needs is not ready or not reachable; retry later.',
    addedIn: '0.1.0',
    httpStatus: 503,
  },
  GRAPHQL_PARSE_FAILED: {
    description: 'The document is not valid GraphQL syntax.',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  GRAPHQL_VALIDATION_FAILED: {
    description: 'The document does not validate against the schema.',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  BAD_REQUEST: {
    description: 'The HTTP request is malformed (body, method, variables or content type).',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  OPERATION_RESOLUTION_FAILURE: {
    description: 'The operation name does not match an operation in the document.',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  PERSISTED_QUERY_NOT_SUPPORTED: {
    description: 'Persisted queries are not enabled on this endpoint.',
    addedIn: '0.1.0',
    httpStatus: 400,
  },
  // --- identity and edge security (issue 5) ---
  ACCOUNT_LOCKED: {
    description:
      'Too many failed sign-ins for this email (wrong password or two-factor code); sign-in is locked for a while. `extensions.retryAfterMs` says when to retry. Unknown emails lock the same way.',
    addedIn: '0.2.0',
    httpStatus: 200,
  },
  TWO_FACTOR_INVALID: {
    description:
      'The two-factor (TOTP) code is wrong, outside the ±30 s window, or was already used (each code works once).',
    addedIn: '0.2.0',
    httpStatus: 200,
  },
  KYC_WEBHOOK_SIGNATURE_INVALID: {
    description:
      'A KYC provider callback is unsigned or its HMAC-SHA256 signature does not match (answered on the webhook route, HTTP 401).',
    addedIn: '0.2.0',
    httpStatus: 401,
  },
  KYC_WEBHOOK_REPLAYED: {
    description:
      'A KYC provider callback was already received (same nonce) or its timestamp is outside the accepted ±5 min window.',
    addedIn: '0.2.0',
    httpStatus: 409,
  },
  // --- wallets (issue 6) ---
  WITHDRAWAL_ADDRESS_NOT_ALLOWED: {
    description:
      'The user keeps a withdrawal address allowlist and this destination is not on it. Nothing changed; add the address first (with a TOTP code).',
    addedIn: '0.3.0',
    httpStatus: 200,
  },
  IDEMPOTENCY_KEY_REUSED: {
    description:
      'The idempotency key was already used by the same user for a different request (another currency, amount or address). Nothing changed; use a new key.',
    addedIn: '0.3.0',
    httpStatus: 200,
  },
  INTERNAL_SERVER_ERROR: {
    description:
      'An unexpected failure. Details are never sent to clients; `extensions.requestId` identifies the server log line.',
    addedIn: '0.1.0',
    httpStatus: 500,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof errorRegistry;

export const errorCodes = Object.keys(errorRegistry) as readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorRegistry, value);
}

/** Builds the GraphQLError a resolver throws: `throw apiError('NOT_FOUND', 'No such order')`. */
export function apiError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** True when an error (of any shape) carries a registry code in `extensions.code`. */
export function errorCodeOf(error: unknown): ErrorCode | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const extensions = (error as { extensions?: { code?: unknown } }).extensions;
  const code = extensions?.code;
  return isErrorCode(code) ? code : undefined;
}
