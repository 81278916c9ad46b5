/**
 * A real Ethereum JSON-RPC node for tests: Hardhat 2's network (`hardhat node`, the EDR engine that
 * ships inside the npm package; nothing is downloaded), started as a child process on a free
 * 127.0.0.1 port with a config generated in a temporary directory, and stopped by `stop()`.
 *
 * Mining is manual: automine and interval mining are off, so transactions wait in the mempool
 * until the test calls `mine(n)`. That makes confirmation counts exact.
 *
 * Reorg model: `snapshot()` (evm_snapshot) marks the chain at some height; `reorg(id, blocks)`
 * reverts to it (evm_revert drops every later block and the transactions in them) and mines
 * `blocks` new blocks, so the chain continues on a different branch: the same heights now carry
 * blocks with different hashes (and whatever the test sends before mining). A watcher that kept the
 * old hashes sees a parent-hash mismatch, exactly as after a real reorg. evm_revert consumes its
 * snapshot id (Hardhat semantics): take a new snapshot for a second reorg.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HDNodeWallet, Mnemonic } from 'ethers';

const require = createRequire(import.meta.url);

/** The well-known development mnemonic; its accounts hold 10,000 ETH each on the local chain. */
export const localChainMnemonic = 'test test test test test test test test test test test junk';

export interface LocalAccount {
  readonly address: string;
  readonly privateKey: string;
}

export interface LocalChainOptions {
  /** Mnemonic of the pre-funded accounts (default `localChainMnemonic`). */
  readonly mnemonic?: string;
  /** Number of pre-funded accounts, 1..50 (default 5). */
  readonly accountCount?: number;
  readonly chainId?: number;
  /** How long to wait for the node to listen (default 30 s). */
  readonly startTimeoutMs?: number;
}

export interface LocalChain {
  /** `http://127.0.0.1:<port>`, for ethers' JsonRpcProvider / ETH_RPC_URL. */
  readonly rpcUrl: string;
  readonly chainId: number;
  /** Pre-funded accounts (m/44'/60'/0'/0/i of the mnemonic), with their keys. */
  readonly accounts: readonly LocalAccount[];
  /** One raw JSON-RPC call; a JSON-RPC error rejects with its message. */
  rpc<T = unknown>(method: string, params?: readonly unknown[]): Promise<T>;
  blockNumber(): Promise<number>;
  /** Mines `blocks` blocks (default 1); the first one takes the mempool's transactions. */
  mine(blocks?: number): Promise<void>;
  /** Number of transactions waiting in the mempool. */
  pendingTransactionCount(): Promise<number>;
  /** evm_snapshot: an id to revert to. */
  snapshot(): Promise<string>;
  /** evm_revert to `snapshotId` (consumes it): later blocks and their transactions are gone. */
  revert(snapshotId: string): Promise<void>;
  /**
   * Reorg: revert to `snapshotId`, run `newBranch` (e.g. send other transactions), then mine
   * `blocks` blocks on the new branch. Returns the new head height.
   */
  reorg(snapshotId: string, blocks: number, newBranch?: () => Promise<void>): Promise<number>;
  stop(): Promise<void>;
}

const maxOutputLines = 200;

/** Starts a Hardhat network node on 127.0.0.1 and a free port. Always `stop()` it (afterAll). */
export async function startLocalChain(options: LocalChainOptions = {}): Promise<LocalChain> {
  const mnemonic = options.mnemonic ?? localChainMnemonic;
  const accountCount = options.accountCount ?? 5;
  const chainId = options.chainId ?? 31337;
  if (!Number.isInteger(accountCount) || accountCount < 1 || accountCount > 50) {
    throw new RangeError('accountCount must be 1..50');
  }
  const root = await mkdtemp(path.join(tmpdir(), 'graphex-chain-'));
  const config = {
    networks: {
      hardhat: {
        chainId,
        mining: { auto: false, interval: 0 },
        accounts: { mnemonic, count: accountCount },
        loggingEnabled: false,
      },
    },
  };
  await writeFile(
    path.join(root, 'hardhat.config.cjs'),
    `module.exports = ${JSON.stringify(config, null, 2)};\n`,
  );
  const hardhatDir = path.dirname(require.resolve('hardhat/package.json'));
  // Hardhat insists on being installed in the project it runs: link the temporary project's
  // node_modules to the one that holds our hardhat.
  await symlink(path.dirname(hardhatDir), path.join(root, 'node_modules'), 'dir');
  const cli = path.join(hardhatDir, 'internal', 'cli', 'bootstrap.js');
  const child = spawn(
    process.execPath,
    [
      cli,
      '--config',
      path.join(root, 'hardhat.config.cjs'),
      'node',
      '--hostname',
      '127.0.0.1',
      '--port',
      '0',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
        NODE_OPTIONS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', kill);

  let rpcUrl: string;
  try {
    rpcUrl = await waitForListening(child, output, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await stopChild(child);
    process.removeListener('exit', kill);
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  let requestId = 0;
  const rpc = async <T>(method: string, params: readonly unknown[] = []): Promise<T> => {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++requestId, method, params }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };

  const hdRoot = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(mnemonic), "m/44'/60'/0'/0");
  const accounts = Array.from({ length: accountCount }, (_, i) => {
    const wallet = hdRoot.deriveChild(i);
    return { address: wallet.address, privateKey: wallet.privateKey };
  });

  const blockNumber = async (): Promise<number> => Number(await rpc<string>('eth_blockNumber'));
  const mine = async (blocks = 1): Promise<void> => {
    if (!Number.isInteger(blocks) || blocks < 1 || blocks > 10_000) {
      throw new RangeError('mine: blocks must be 1..10000');
    }
    // evm_mine seals the mempool into one block; hardhat_mine adds the rest in one call.
    await rpc('evm_mine');
    if (blocks > 1) await rpc('hardhat_mine', [`0x${(blocks - 1).toString(16)}`]);
  };
  const snapshot = (): Promise<string> => rpc<string>('evm_snapshot');
  const revert = async (snapshotId: string): Promise<void> => {
    const reverted = await rpc<boolean>('evm_revert', [snapshotId]);
    if (!reverted) throw new Error(`evm_revert(${snapshotId}) failed: unknown or used snapshot`);
  };

  let stopped = false;
  return {
    rpcUrl,
    chainId,
    accounts,
    rpc,
    blockNumber,
    mine,
    pendingTransactionCount: async () =>
      Number(
        (await rpc<{ transactions: unknown[] }>('eth_getBlockByNumber', ['pending', false])).transactions
          .length,
      ),
    snapshot,
    revert,
    reorg: async (snapshotId, blocks, newBranch) => {
      await revert(snapshotId);
      if (newBranch) await newBranch();
      await mine(blocks);
      return blockNumber();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopChild(child);
      process.removeListener('exit', kill);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Resolves with the node's URL once it prints its listening line; keeps draining its output. */
function waitForListening(child: ChildProcess, output: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | null, url?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(url!);
    };
    const timer = setTimeout(
      () => settle(new Error(`Hardhat node did not start within ${timeoutMs} ms:\n${output.join('\n')}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      // Always consume the pipes (a full pipe would block the node); keep only the recent lines.
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        output.push(line);
        if (output.length > maxOutputLines) output.shift();
        const match = /Started HTTP and WebSocket JSON-RPC server at (http:\/\/127\.0\.0\.1:\d+)\//.exec(
          line,
        );
        if (match) settle(null, match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) =>
      settle(
        new Error(
          `Hardhat node exited before listening (code ${String(code)}, signal ${String(signal)}):\n${output.join('\n')}`,
        ),
      ),
    );
    child.once('error', (error) => settle(error));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
