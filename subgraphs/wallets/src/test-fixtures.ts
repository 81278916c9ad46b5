/** Keys for tests: the well-known development mnemonic (Hardhat/Anvil), whose accounts are public. */
import { HDNodeWallet, Mnemonic } from 'ethers';
import { accountPath } from './chain/deposit-keys.ts';

export const testMnemonic = Mnemonic.fromPhrase(
  'test test test test test test test test test test test junk',
);
/** Account-level xpub of `testMnemonic`: children 0/0 and 0/1 are Hardhat accounts #0 and #1. */
export const testXpub = HDNodeWallet.fromMnemonic(testMnemonic, accountPath).neuter().extendedKey;
