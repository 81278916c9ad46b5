/**
 * The withdrawal hot wallet: an Ethereum private key from ETH_HOT_WALLET_KEY (0x + 64 hex digits).
 * Without it, outside production, a development key is generated once under
 * DATA_DIR/wallets/dev-hot-wallet.json (mode 0600) with a warning, like the development deposit
 * wallet; production refuses to start. The key never leaves this process: transactions are signed
 * offline and only the signed bytes go to the node.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Wallet } from 'ethers';
import { ConfigError, type Logger } from '@graphex/runtime';

interface DevelopmentHotWalletFile {
  readonly warning: string;
  readonly privateKey: string;
  readonly address: string;
}

export function hotWalletFromKey(key: string): Wallet {
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) {
    throw new ConfigError('ETH_HOT_WALLET_KEY must be a private key: 64 hexadecimal digits (0x optional).');
  }
  try {
    return new Wallet(key.startsWith('0x') ? key : `0x${key}`);
  } catch {
    throw new ConfigError('ETH_HOT_WALLET_KEY is not a valid secp256k1 private key.');
  }
}

export async function loadHotWallet(options: {
  readonly key: string | undefined;
  readonly dataDir: string;
  readonly production: boolean;
  readonly logger: Logger;
}): Promise<Wallet> {
  if (options.key) return hotWalletFromKey(options.key);
  if (options.production) {
    throw new ConfigError('ETH_HOT_WALLET_KEY must be set when NODE_ENV=production and ETH_RPC_URL is set.');
  }
  const file = path.join(options.dataDir, 'dev-hot-wallet.json');
  let stored: DevelopmentHotWalletFile | undefined;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as DevelopmentHotWalletFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (!stored) {
    const wallet = Wallet.createRandom();
    stored = {
      warning:
        'DEVELOPMENT ONLY. Generated because ETH_HOT_WALLET_KEY was unset. Never fund it with real money.',
      privateKey: wallet.privateKey,
      address: wallet.address,
    };
    await mkdir(options.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600, flag: 'wx' }).catch(
      async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
        stored = JSON.parse(await readFile(file, 'utf8')) as DevelopmentHotWalletFile;
      },
    );
    await chmod(file, 0o600);
  }
  options.logger.warn('ETH_HOT_WALLET_KEY is unset: withdrawals are signed with a development hot wallet', {
    file,
    address: stored.address,
  });
  return hotWalletFromKey(stored.privateKey);
}
