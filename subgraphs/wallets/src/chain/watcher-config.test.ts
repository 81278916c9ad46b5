import { describe, expect, it } from 'vitest';
import { chainWatcherConfigFromEnv, defaultMinConfirmations } from './watcher.ts';

describe('chain watcher configuration', () => {
  it('is disabled without ETH_RPC_URL', () => {
    expect(chainWatcherConfigFromEnv({})).toBeNull();
    expect(chainWatcherConfigFromEnv({ ETH_RPC_URL: '' })).toBeNull();
  });

  it('defaults to 12 confirmations and ETH only', () => {
    const config = chainWatcherConfigFromEnv({ ETH_RPC_URL: 'http://127.0.0.1:8545' })!;
    expect(config.minConfirmations).toBe(defaultMinConfirmations);
    expect(defaultMinConfirmations).toBe(12);
    expect(config.usdtTokenAddress).toBeNull();
    expect(config.startBlock).toBeNull();
  });

  it('reads and checks every setting', () => {
    const config = chainWatcherConfigFromEnv({
      ETH_RPC_URL: 'https://node.example/rpc',
      ETH_MIN_CONFIRMATIONS: '3',
      USDT_TOKEN_ADDRESS: '0xdac17f958d2ee523a2206206994597c13d831ec7',
      ETH_POLL_INTERVAL_MS: '250',
      ETH_START_BLOCK: '0',
    })!;
    expect(config).toMatchObject({
      minConfirmations: 3,
      usdtTokenAddress: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
      pollIntervalMs: 250,
      startBlock: 0,
    });
    const bad: Array<Record<string, string>> = [
      { ETH_RPC_URL: 'ws://127.0.0.1:8545' },
      { ETH_RPC_URL: 'http://x', ETH_MIN_CONFIRMATIONS: '0' },
      { ETH_RPC_URL: 'http://x', ETH_MIN_CONFIRMATIONS: '1.5' },
      { ETH_RPC_URL: 'http://x', ETH_MIN_CONFIRMATIONS: '-3' },
      { ETH_RPC_URL: 'http://x', USDT_TOKEN_ADDRESS: '0x1234' },
      // A mixed-case address with a wrong EIP-55 checksum.
      { ETH_RPC_URL: 'http://x', USDT_TOKEN_ADDRESS: '0xDAC17F958D2ee523a2206206994597C13D831ec7' },
      { ETH_RPC_URL: 'http://x', ETH_POLL_INTERVAL_MS: '5' },
    ];
    for (const env of bad) expect(() => chainWatcherConfigFromEnv(env), JSON.stringify(env)).toThrow();
  });
});
