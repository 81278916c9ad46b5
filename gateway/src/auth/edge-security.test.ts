import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@graphex/runtime';
import { testConfig } from '@graphex/runtime/testing';
import { clientIpOf, createEdgeSecurity } from './edge-security.ts';

const logger = createLogger('test', 'silent');

async function introspectionWith(env: Record<string, string>, production = false) {
  const config = production
    ? testConfig({
        NODE_ENV: 'production',
        JWT_SECRET: 'p'.repeat(40),
        INTERNAL_TOKEN_SECRET: 'q'.repeat(40),
      })
    : testConfig();
  const edge = await createEdgeSecurity(config, { logger, identityUrl: undefined, env });
  await edge.close();
  return edge.introspection;
}

describe('edge security configuration', () => {
  it('switches introspection: on by default, off in production unless GATEWAY_INTROSPECTION=true', async () => {
    expect(await introspectionWith({})).toBe(true);
    expect(await introspectionWith({ GATEWAY_INTROSPECTION: 'false' })).toBe(false);
    expect(await introspectionWith({}, true)).toBe(false);
    expect(await introspectionWith({ GATEWAY_INTROSPECTION: 'true' }, true)).toBe(true);
  });

  it('reads query limits from the environment and refuses nonsense', async () => {
    const edge = await createEdgeSecurity(testConfig(), {
      logger,
      identityUrl: undefined,
      env: { GATEWAY_MAX_DEPTH: '5' },
    });
    expect(edge.queryLimits.maxDepth).toBe(5);
    expect(edge.parseOptions.maxTokens).toBe(edge.queryLimits.maxTokens);
    await edge.close();
    await expect(
      createEdgeSecurity(testConfig(), { logger, identityUrl: undefined, env: { GATEWAY_MAX_COST: 'lots' } }),
    ).rejects.toThrow(/GATEWAY_MAX_COST/);
  });

  it('trusts X-Forwarded-For only for the configured number of proxy hops', () => {
    const request = (xff: string | undefined) =>
      ({
        socket: { remoteAddress: '127.0.0.1' },
        headers: xff ? { 'x-forwarded-for': xff } : {},
      }) as unknown as IncomingMessage;
    expect(clientIpOf(request('6.6.6.6'))).toBe('127.0.0.1');
    expect(clientIpOf(request('6.6.6.6, 10.0.0.2'), 1)).toBe('10.0.0.2');
    // A client cannot push its own entry past the trusted proxy: the proxy appends the real peer.
    expect(clientIpOf(request('6.6.6.6, 10.0.0.2'), 2)).toBe('6.6.6.6');
    expect(clientIpOf(request(undefined), 1)).toBe('127.0.0.1');
  });
});
