import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HDNodeWallet } from 'ethers';
import { ConfigError, createLogger } from '@graphex/runtime';
import { testMnemonic, testXpub } from '../test-fixtures.ts';
import { accountPath, keyringFromXpub, loadDepositKeyring } from './deposit-keys.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('keyringFromXpub', () => {
  it("derives m/44'/60'/0'/0/i exactly like a wallet from the same mnemonic", () => {
    const keyring = keyringFromXpub(testXpub, 'environment');
    expect(keyring.addressAt(0)).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(keyring.addressAt(1)).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(keyring.addressAt(7)).toBe(HDNodeWallet.fromMnemonic(testMnemonic, "m/44'/60'/0'/0/7").address);
    expect(keyring.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(() => keyring.addressAt(-1)).toThrow(RangeError);
    expect(() => keyring.addressAt(2 ** 31)).toThrow(RangeError);
  });

  it('refuses private keys, wrong depths and garbage', () => {
    const xprv = HDNodeWallet.fromMnemonic(testMnemonic, accountPath).extendedKey;
    expect(() => keyringFromXpub(xprv, 'environment')).toThrow(/PUBLIC/);
    const leafXpub = HDNodeWallet.fromMnemonic(testMnemonic, "m/44'/60'/0'/0").neuter().extendedKey;
    expect(() => keyringFromXpub(leafXpub, 'environment')).toThrow(/depth 3/);
    expect(() => keyringFromXpub('xpub-not-really', 'environment')).toThrow(ConfigError);
  });
});

describe('loadDepositKeyring', () => {
  const lines: string[] = [];
  const logger = createLogger('test', 'warn', {}, (line) => lines.push(line));

  it('generates a development wallet once under DATA_DIR, warns, and reuses it', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-wallets-'));
    dirs.push(dataDir);
    const first = await loadDepositKeyring({ xpub: undefined, dataDir, production: false, logger });
    const second = await loadDepositKeyring({ xpub: undefined, dataDir, production: false, logger });
    expect(first.source).toBe('development-file');
    expect(second.xpub).toBe(first.xpub);
    expect(second.addressAt(3)).toBe(first.addressAt(3));
    const file = path.join(dataDir, 'dev-deposit-wallet.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { mnemonic: string; xpub: string };
    // The stored mnemonic really is the wallet behind the xpub.
    expect(HDNodeWallet.fromPhrase(stored.mnemonic, undefined, "m/44'/60'/0'/0/3").address).toBe(
      first.addressAt(3),
    );
    expect(lines.some((line) => line.includes('ETH_DEPOSIT_XPUB is unset'))).toBe(true);
  });

  it('prefers ETH_DEPOSIT_XPUB and refuses to run without it in production', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'graphex-wallets-'));
    dirs.push(dataDir);
    const configured = await loadDepositKeyring({ xpub: testXpub, dataDir, production: true, logger });
    expect(configured.source).toBe('environment');
    await expect(loadDepositKeyring({ xpub: undefined, dataDir, production: true, logger })).rejects.toThrow(
      ConfigError,
    );
  });
});
