/**
 * The exchange's deposit key: a BIP-44 account-level extended PUBLIC key for Ethereum
 * (m/44'/60'/0'), from ETH_DEPOSIT_XPUB. Deposit addresses are its external-chain children
 * m/44'/60'/0'/0/<index>; this service never holds a private key of a production wallet.
 *
 * Without ETH_DEPOSIT_XPUB (development only) a random development wallet is generated once under
 * DATA_DIR/wallets and reused on every restart, with a warning; production refuses to start.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HDNodeVoidWallet, HDNodeWallet, Mnemonic, randomBytes } from 'ethers';
import { ConfigError, type Logger } from '@graphex/runtime';

/** BIP-44 account path whose xpub the exchange publishes to this service. */
export const accountPath = "m/44'/60'/0'";
/** Largest non-hardened child index (BIP-32). */
export const maxDerivationIndex = 2 ** 31 - 1;

export interface DepositKeyring {
  readonly xpub: string;
  /** Short, stable identifier of the xpub stored with every address. */
  readonly fingerprint: string;
  readonly source: 'environment' | 'development-file';
  /** Checksummed Ethereum address of m/44'/60'/0'/0/<index>. */
  addressAt(index: number): string;
}

export function keyringFromXpub(xpub: string, source: DepositKeyring['source']): DepositKeyring {
  let node: HDNodeWallet | HDNodeVoidWallet;
  try {
    node = HDNodeWallet.fromExtendedKey(xpub);
  } catch {
    throw new ConfigError('ETH_DEPOSIT_XPUB is not a valid BIP-32 extended key.');
  }
  if (!(node instanceof HDNodeVoidWallet)) {
    throw new ConfigError('ETH_DEPOSIT_XPUB must be an extended PUBLIC key (xpub), never a private one.');
  }
  if (node.depth !== 3) {
    throw new ConfigError(
      `ETH_DEPOSIT_XPUB must be the account-level key ${accountPath} (depth 3), got depth ${node.depth}.`,
    );
  }
  const external = node.deriveChild(0);
  return {
    xpub,
    fingerprint: createHash('sha256').update(xpub).digest('hex').slice(0, 16),
    source,
    addressAt: (index) => {
      if (!Number.isSafeInteger(index) || index < 0 || index > maxDerivationIndex) {
        throw new RangeError(`Derivation index ${index} is outside 0..${maxDerivationIndex}`);
      }
      return external.deriveChild(index).address;
    },
  };
}

interface DevelopmentWalletFile {
  readonly warning: string;
  readonly mnemonic: string;
  readonly xpub: string;
}

/** Loads the deposit keyring from ETH_DEPOSIT_XPUB, or the development wallet under `dataDir`. */
export async function loadDepositKeyring(options: {
  readonly xpub: string | undefined;
  readonly dataDir: string;
  readonly production: boolean;
  readonly logger: Logger;
}): Promise<DepositKeyring> {
  if (options.xpub) return keyringFromXpub(options.xpub, 'environment');
  if (options.production) {
    throw new ConfigError(
      'ETH_DEPOSIT_XPUB must be set when NODE_ENV=production (deposit addresses derive from it).',
    );
  }
  const file = path.join(options.dataDir, 'dev-deposit-wallet.json');
  let stored: DevelopmentWalletFile | undefined;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as DevelopmentWalletFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (!stored) {
    const mnemonic = Mnemonic.fromEntropy(randomBytes(32));
    const account = HDNodeWallet.fromMnemonic(mnemonic, accountPath);
    stored = {
      warning:
        'DEVELOPMENT ONLY. Generated because ETH_DEPOSIT_XPUB was unset. Never send real funds to these addresses.',
      mnemonic: mnemonic.phrase,
      xpub: account.neuter().extendedKey,
    };
    await mkdir(options.dataDir, { recursive: true });
    // wx: two processes racing on first start must not overwrite each other's wallet.
    await writeFile(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600, flag: 'wx' }).catch(
      async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
        stored = JSON.parse(await readFile(file, 'utf8')) as DevelopmentWalletFile;
      },
    );
    await chmod(file, 0o600);
  }
  options.logger.warn('ETH_DEPOSIT_XPUB is unset: deriving deposit addresses from a development wallet', {
    file,
  });
  return keyringFromXpub(stored.xpub, 'development-file');
}
