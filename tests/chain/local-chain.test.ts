import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, id as topicOf, parseEther } from 'ethers';
import { compileTestToken, deployTestToken, localProvider, localSigner } from './erc20.ts';
import { startLocalChain, type LocalChain } from './local-node.ts';

describe('local chain harness', () => {
  let chain: LocalChain;

  beforeAll(async () => {
    chain = await startLocalChain();
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it('serves JSON-RPC on 127.0.0.1 and mines only when asked', async () => {
    expect(chain.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(await chain.rpc<string>('eth_chainId'))).toBe(31337);
    const provider = localProvider(chain);
    const start = await chain.blockNumber();
    const sender = localSigner(chain, 0, provider);
    const receiver = chain.accounts[1]!.address;
    const before = await provider.getBalance(receiver);
    await sender.sendTransaction({ to: receiver, value: parseEther('1.5') });
    expect(await chain.pendingTransactionCount()).toBe(1);
    expect(await chain.blockNumber()).toBe(start);
    expect(await provider.getBalance(receiver)).toBe(before);
    await chain.mine(3);
    expect(await chain.blockNumber()).toBe(start + 3);
    expect(await chain.pendingTransactionCount()).toBe(0);
    expect(await provider.getBalance(receiver)).toBe(before + parseEther('1.5'));
    provider.destroy();
  });

  it('reorgs: a reverted snapshot continues on a branch with different block hashes', async () => {
    const provider = localProvider(chain);
    const sender = localSigner(chain, 0, provider);
    const receiver = chain.accounts[2]!.address;
    const fork = await chain.blockNumber();
    const snapshot = await chain.snapshot();
    const balance = await provider.getBalance(receiver);
    await sender.sendTransaction({ to: receiver, value: 1234n });
    await chain.mine(2);
    const oldHashes = [(await provider.getBlock(fork + 1))!.hash, (await provider.getBlock(fork + 2))!.hash];
    expect(await provider.getBalance(receiver)).toBe(balance + 1234n);

    const head = await chain.reorg(snapshot, 3);
    expect(head).toBe(fork + 3);
    const newFirst = (await provider.getBlock(fork + 1))!;
    expect(newFirst.parentHash).toBe((await provider.getBlock(fork))!.hash);
    expect(newFirst.hash).not.toBe(oldHashes[0]);
    expect((await provider.getBlock(fork + 2))!.hash).not.toBe(oldHashes[1]);
    // The orphaned transaction is gone with its block.
    expect(newFirst.transactions).toHaveLength(0);
    expect(await provider.getBalance(receiver)).toBe(balance);
    provider.destroy();
  });

  it('compiles the test token with solc-js and deploys it: 6 decimals, Transfer logs per recipient', async () => {
    // Compiled for real here (other files may use the cached output of the same input).
    const { abi, bytecode } = compileTestToken({ cache: false });
    expect(bytecode).toMatch(/^0x[0-9a-f]{100,}$/);
    expect(compileTestToken()).toEqual({ abi, bytecode });
    const provider = localProvider(chain);
    const owner = localSigner(chain, 0, provider);
    const token = await deployTestToken(chain, owner);
    expect(await token.contract.getFunction('decimals')()).toBe(6n);
    expect(await token.contract.getFunction('symbol')()).toBe('USDT');

    const holder = localSigner(chain, 3, provider);
    await token.mint(holder.address, 5_000_000n);
    expect(await token.balanceOf(holder.address)).toBe(5_000_000n);

    const [a, b] = [chain.accounts[1]!.address, chain.accounts[2]!.address];
    const asHolder = token.connect(holder);
    const sent = (await asHolder.getFunction('transferMany')([a, b], [1_000_000n, 250_000n])) as {
      hash: string;
    };
    await chain.mine(1);
    const receipt = (await provider.getTransactionReceipt(sent.hash))!;
    expect(receipt.status).toBe(1);
    const transferTopic = topicOf('Transfer(address,address,uint256)');
    const logs = receipt.logs.filter((log) => log.topics[0] === transferTopic);
    expect(logs.map((log) => log.index)).toEqual([0, 1]);
    const parsed = logs.map((log) => new Interface(abi).parseLog(log)!);
    expect(parsed.map((log) => [log.args[1], log.args[2]])).toEqual([
      [a, 1_000_000n],
      [b, 250_000n],
    ]);
    expect(await token.balanceOf(holder.address)).toBe(3_750_000n);

    // A transfer beyond the balance reverts: no log, no balance change.
    const overdraft = new Contract(token.address, abi, localSigner(chain, 4, provider));
    await expect(overdraft.getFunction('transfer').staticCall(a, 1n)).rejects.toThrow();
    provider.destroy();
  });
});
