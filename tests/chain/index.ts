/** Local Ethereum chain for tests: a Hardhat network node and a solc-compiled USDT-like token. */
export * from './local-node.ts';
export * from './erc20.ts';
