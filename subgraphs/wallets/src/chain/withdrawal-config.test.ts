import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@graphex/runtime';
import { testLogger } from '@graphex/runtime/testing';
import { hotWalletFromKey, loadHotWallet } from './hot-wallet.ts';
import { amlConfigFromEnv } from './withdrawal-core.ts';
import { chainWatcherConfigFromEnv } from './watcher.ts';
import { withdrawalProcessorConfigFromEnv } from '../index.ts';
import { defaultMaxStepFailures } from '../domain/withdrawal.ts';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'wallets-withdrawal-config-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('AML settings', () => {
  it('defaults, exact amounts, and sanctioned addresses from the environment and DATA_DIR', async () => {
    const defaults = amlConfigFromEnv({}, null);
    expect(defaults.amountThresholdUnits).toEqual({ ETH: 10n * 10n ** 18n, USDT: 20_000_000_000n });
    expect(defaults.velocityMaxCount).toBe(10);
    expect(defaults.sanctionedAddresses.size).toBe(0);

    await writeFile(
      path.join(dataDir, 'sanctioned-addresses.txt'),
      '# OFAC list excerpt\n0x00000000000000000000000000000000000000AA  # a mixer\n\n',
    );
    const configured = amlConfigFromEnv(
      {
        AML_THRESHOLD_ETH: '0.000000000000000001',
        AML_VELOCITY_MAX_COUNT: '3',
        AML_SANCTIONED_ADDRESSES:
          '0x00000000000000000000000000000000000000bb, 0x00000000000000000000000000000000000000Cc',
      },
      dataDir,
    );
    expect(configured.amountThresholdUnits.ETH).toBe(1n);
    expect(configured.velocityMaxCount).toBe(3);
    expect([...configured.sanctionedAddresses].sort()).toEqual([
      '0x00000000000000000000000000000000000000aa',
      '0x00000000000000000000000000000000000000bb',
      '0x00000000000000000000000000000000000000cc',
    ]);
  });

  it('refuses malformed settings', () => {
    expect(() => amlConfigFromEnv({ AML_THRESHOLD_USDT: '1.0000001' }, null)).toThrow(ConfigError);
    expect(() => amlConfigFromEnv({ AML_THRESHOLD_ETH: '-1' }, null)).toThrow(ConfigError);
    expect(() => amlConfigFromEnv({ AML_VELOCITY_MAX_COUNT: 'ten' }, null)).toThrow(ConfigError);
    expect(() => amlConfigFromEnv({ AML_SANCTIONED_ADDRESSES: '0x1234' }, null)).toThrow(ConfigError);
  });
});

describe('processor settings', () => {
  it('bounds consecutive step failures: WITHDRAWAL_MAX_STEP_FAILURES, default 10', () => {
    const watcher = chainWatcherConfigFromEnv({ ETH_RPC_URL: 'http://127.0.0.1:8545' })!;
    expect(withdrawalProcessorConfigFromEnv({}, watcher).maxStepFailures).toBe(defaultMaxStepFailures);
    expect(defaultMaxStepFailures).toBe(10);
    expect(
      withdrawalProcessorConfigFromEnv({ WITHDRAWAL_MAX_STEP_FAILURES: '25' }, watcher).maxStepFailures,
    ).toBe(25);
    for (const bad of ['0', '-1', 'ten', '1000']) {
      expect(() => withdrawalProcessorConfigFromEnv({ WITHDRAWAL_MAX_STEP_FAILURES: bad }, watcher)).toThrow(
        ConfigError,
      );
    }
  });
});

describe('hot wallet key', () => {
  it('takes ETH_HOT_WALLET_KEY with or without 0x and refuses anything else', () => {
    const key = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
    expect(hotWalletFromKey(key).address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(hotWalletFromKey(key.slice(2)).address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(() => hotWalletFromKey('xpub123')).toThrow(ConfigError);
    expect(() => hotWalletFromKey(`0x${'0'.repeat(64)}`)).toThrow(ConfigError);
  });

  it('without a key: refused in production; a development key kept under DATA_DIR otherwise', async () => {
    const options = { key: undefined, dataDir, logger: testLogger };
    await expect(loadHotWallet({ ...options, production: true })).rejects.toThrow(ConfigError);
    const first = await loadHotWallet({ ...options, production: false });
    const again = await loadHotWallet({ ...options, production: false });
    expect(again.address).toBe(first.address);
    const file = path.join(dataDir, 'dev-hot-wallet.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ address: first.address });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
