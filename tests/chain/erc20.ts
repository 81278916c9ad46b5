/**
 * A USDT-like ERC-20 (6 decimals) for tests: Solidity source below, compiled at test time by
 * solc-js (the `solc` npm package carries the compiler; nothing is downloaded) through its
 * standard-JSON interface, and deployed to a local chain.
 *
 * Beyond ERC-20 it has `mint` (owner only, for funding test accounts) and `transferMany` (several
 * Transfer logs in one transaction, so tests can tell deposits apart by log index).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, ContractFactory, JsonRpcProvider, Wallet, type InterfaceAbi } from 'ethers';
import type { LocalChain } from './local-node.ts';

const require = createRequire(import.meta.url);

export const testTokenSource = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Minimal USDT-like token for tests: 6 decimals, owner-minted.
contract TestUSDT {
    string public constant name = "Tether USD (test)";
    string public constant symbol = "USDT";
    uint8 public constant decimals = 6;
    address public immutable owner;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor() {
        owner = msg.sender;
    }

    function mint(address to, uint256 value) external {
        require(msg.sender == owner, "not owner");
        require(to != address(0), "zero address");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferMany(address[] calldata to, uint256[] calldata value) external returns (bool) {
        require(to.length == value.length, "length mismatch");
        for (uint256 i = 0; i < to.length; i++) _transfer(msg.sender, to[i], value[i]);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= value, "allowance");
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - value;
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(to != address(0), "zero address");
        uint256 balance = balanceOf[from];
        require(balance >= value, "balance");
        unchecked {
            balanceOf[from] = balance - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
`;

export interface CompiledContract {
  readonly abi: InterfaceAbi;
  /** 0x-prefixed creation bytecode. */
  readonly bytecode: string;
}

interface SolcOutput {
  readonly errors?: ReadonlyArray<{ severity: string; formattedMessage: string }>;
  readonly contracts?: Record<
    string,
    Record<string, { abi: InterfaceAbi; evm: { bytecode: { object: string } } }>
  >;
}

interface Solc {
  compile(input: string): string;
  version(): string;
}

let compiled: CompiledContract | undefined;

const compilerInput = {
  language: 'Solidity',
  sources: { 'TestUSDT.sol': { content: testTokenSource } },
  settings: {
    // Hardhat's network runs the newest hardforks; cancun is old enough for any of them.
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};

/** Runs solc-js on `testTokenSource` (a few seconds: the compiler is emscripten code). */
function compileWithSolc(): CompiledContract {
  const solc = require('solc') as Solc;
  const output = JSON.parse(solc.compile(JSON.stringify(compilerInput))) as SolcOutput;
  const errors = (output.errors ?? []).filter((error) => error.severity === 'error');
  if (errors.length > 0) {
    throw new Error(`solc ${solc.version()} failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  }
  const contract = output.contracts?.['TestUSDT.sol']?.['TestUSDT'];
  if (!contract) throw new Error('solc produced no TestUSDT contract');
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}

/**
 * Compiles `testTokenSource` with solc-js, once per process. With `cache` (the default) the output
 * is also kept in the OS temp directory under a key of the exact compiler input and solc version,
 * so other test files (other processes) skip the seconds of compiling; `cache: false` always
 * compiles.
 */
export function compileTestToken(options: { readonly cache?: boolean } = {}): CompiledContract {
  if (options.cache === false) return compileWithSolc();
  if (compiled) return compiled;
  const solcVersion = (require('solc/package.json') as { version: string }).version;
  const key = createHash('sha256')
    .update(JSON.stringify({ solcVersion, compilerInput }))
    .digest('hex')
    .slice(0, 32);
  const file = path.join(tmpdir(), 'graphex-solc-cache', `${key}.json`);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as CompiledContract;
    if (
      typeof cached.bytecode === 'string' &&
      /^0x[0-9a-f]+$/.test(cached.bytecode) &&
      Array.isArray(cached.abi)
    ) {
      compiled = cached;
      return cached;
    }
  } catch {
    // No (readable) cache entry: compile.
  }
  compiled = compileWithSolc();
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(compiled));
  renameSync(temporary, file);
  return compiled;
}

export interface TestToken {
  readonly address: string;
  readonly decimals: 6;
  /** The token bound to the deployer (its owner, who may mint). */
  readonly contract: Contract;
  /** The same token bound to another signer. */
  connect(signer: Wallet): Contract;
  /** Mints to `to` and mines the block. */
  mint(to: string, amountBaseUnits: bigint): Promise<void>;
  balanceOf(address: string): Promise<bigint>;
}

/** Compiles (if needed) and deploys the test token from `deployer`, mining the deployment. */
export async function deployTestToken(chain: LocalChain, deployer: Wallet): Promise<TestToken> {
  const { abi, bytecode } = compileTestToken();
  const factory = new ContractFactory(abi, bytecode, deployer);
  const deployed = await factory.deploy();
  await chain.mine(1);
  await deployed.waitForDeployment();
  const address = await deployed.getAddress();
  const contract = new Contract(address, abi, deployer);
  return {
    address,
    decimals: 6,
    contract,
    connect: (signer) => new Contract(address, abi, signer),
    mint: async (to, amountBaseUnits) => {
      const sent = (await contract.getFunction('mint')(to, amountBaseUnits)) as { wait(): Promise<unknown> };
      await chain.mine(1);
      await sent.wait();
    },
    balanceOf: async (holder) => (await contract.getFunction('balanceOf')(holder)) as bigint,
  };
}

/** A provider for the local chain: no response cache (tests read right after mining), fast polling. */
export function localProvider(chain: LocalChain): JsonRpcProvider {
  const provider = new JsonRpcProvider(chain.rpcUrl, chain.chainId, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
  provider.pollingInterval = 50;
  return provider;
}

/** A signer for pre-funded account `index` of the local chain. */
export function localSigner(chain: LocalChain, index: number, provider = localProvider(chain)): Wallet {
  const account = chain.accounts[index];
  if (!account) throw new RangeError(`The local chain has no account ${index}`);
  return new Wallet(account.privateKey, provider);
}
