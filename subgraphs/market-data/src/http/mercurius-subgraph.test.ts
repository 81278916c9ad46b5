import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { createLogger } from '@graphex/runtime';
import { apiError } from '@graphex/schema';
import { formatMercuriusErrors, toMercuriusResolvers } from './mercurius-subgraph.ts';

function capture(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('test', 'debug', {}, (line) => lines.push(line)), lines };
}

describe('formatMercuriusErrors', () => {
  it('masks an unexpected error: no message, SQL or stack to the client, logged with the request id', () => {
    const { logger, lines } = capture();
    const thrown = new Error('relation "markets" does not exist at SELECT * FROM markets');
    const error = new GraphQLError(thrown.message, { path: ['markets'], originalError: thrown });
    const { statusCode, errors } = formatMercuriusErrors([error], false, { logger, requestId: 'req-1' });
    expect(statusCode).toBe(200);
    expect(errors).toEqual([
      {
        message: 'Internal server error',
        path: ['markets'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-1' },
      },
    ]);
    expect(lines.some((line) => line.includes('req-1') && line.includes('relation'))).toBe(true);
  });

  it('keeps registry codes of resolver errors', () => {
    const { logger } = capture();
    const error = new GraphQLError('nope', { originalError: apiError('FORBIDDEN', 'Requires role ADMIN.') });
    const { errors } = formatMercuriusErrors([error], true, { logger, requestId: undefined });
    expect(errors[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('unwraps request-level failures and keeps their HTTP status', () => {
    const { logger } = capture();
    const wrapper = Object.assign(new Error('Method not allowed'), {
      code: 'MER_ERR_METHOD_NOT_ALLOWED',
      statusCode: 405,
      errors: [new Error('Operation cannot be performed via a GET request')],
    });
    const { statusCode, errors } = formatMercuriusErrors(
      [new GraphQLError(wrapper.message, { originalError: wrapper })],
      false,
      {
        logger,
        requestId: undefined,
      },
    );
    expect(statusCode).toBe(405);
    expect(errors).toEqual([
      { message: 'Operation cannot be performed via a GET request', extensions: { code: 'BAD_REQUEST' } },
    ]);
  });
});

describe('toMercuriusResolvers', () => {
  it('adapts __resolveReference to the mercurius argument order', async () => {
    const adapted = toMercuriusResolvers({
      Market: {
        __resolveReference: (reference: { symbol: string }, context: { tag: string }) =>
          `${reference.symbol}:${context.tag}`,
      },
      Query: { markets: () => [] },
    }) as { Market: { __resolveReference: (...args: unknown[]) => unknown }; Query: unknown };
    expect(adapted.Market.__resolveReference({ symbol: 'BTC-USDT' }, {}, { tag: 'ctx' }, {})).toBe(
      'BTC-USDT:ctx',
    );
  });
});
