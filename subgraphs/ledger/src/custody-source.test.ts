import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createWalletsCustodySource, parseCustodyAnswer } from './custody-source.ts';

describe('parseCustodyAnswer', () => {
  it('reads an available answer exactly, as integers of base units', () => {
    expect(
      parseCustodyAnswer({
        available: true,
        blockNumber: 77,
        assets: [
          { currency: 'ETH', userCustodyUnits: '123456789012345678901234567890' },
          { currency: 'USDT', userCustodyUnits: '0' },
          { currency: 'BTC', userCustodyUnits: '-3' },
        ],
      }),
    ).toEqual({
      known: true,
      blockNumber: 77,
      unitsByCurrency: new Map([
        ['ETH', 123456789012345678901234567890n],
        ['USDT', 0n],
        ['BTC', -3n],
      ]),
    });
  });

  it('is unknown, with the reason, when the watcher cannot answer or the answer is malformed', () => {
    expect(parseCustodyAnswer({ available: false, reason: 'ETH_RPC_URL is not set' })).toEqual({
      known: false,
      note: 'The chain watcher cannot report custody: ETH_RPC_URL is not set.',
    });
    for (const body of [
      null,
      'yes',
      { available: true, blockNumber: 1.5, assets: [] },
      { available: true, blockNumber: 1, assets: {} },
      { available: true, blockNumber: 1, assets: [{ currency: 'ETH', userCustodyUnits: 5 }] },
      { available: true, blockNumber: 1, assets: [{ currency: 'ETH', userCustodyUnits: '--5' }] },
      { available: true, blockNumber: 1, assets: [{ currency: 'ETH', userCustodyUnits: '1.5' }] },
      { available: true, blockNumber: 1, assets: [null] },
    ])
      expect(parseCustodyAnswer(body), JSON.stringify(body)).toMatchObject({ known: false });
  });
});

describe('createWalletsCustodySource', () => {
  it('says why when wallets is unreachable or refuses', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await createWalletsCustodySource({
      walletsUrl: `http://127.0.0.1:${port}/graphql`,
      internalTokenSecret: 'x'.repeat(32),
    }).read();
    expect(unreachable).toMatchObject({ known: false, note: expect.stringMatching(/unreachable/) });

    const refusing = createServer((_request, response) => response.writeHead(401).end());
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const address = refusing.address() as { port: number };
      const refused = await createWalletsCustodySource({
        walletsUrl: `http://127.0.0.1:${address.port}/graphql`,
        internalTokenSecret: 'x'.repeat(32),
      }).read();
      expect(refused).toEqual({
        known: false,
        note: 'The wallets service answered HTTP 401 on /internal/custody.',
      });
    } finally {
      await new Promise((resolve) => refusing.close(resolve));
    }
  });
});
