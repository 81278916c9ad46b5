/**
 * requestWithdrawal against the real identity service (its internal HTTP endpoints: KYC policy and
 * tier limits, TOTP with its single-use guard) and the real in-process core; and the custody route's
 * service-token check. No chain here: the withdrawal stops at APPROVED (the processor's part is
 * tested in src/chain/withdrawal.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wallet } from 'ethers';
import { createInProcessCoreClient, type InProcessCoreClient } from '@graphex/matching-core';
import {
  createIdentityInternalClient,
  serviceTokenHeader,
  signServiceToken,
  totpCode,
  verifyAccessToken,
  type Identity,
  type RunningService,
} from '@graphex/runtime';
import {
  callSubgraph,
  openTestDatabase,
  testConfig,
  testLogger,
  type TestDatabase,
} from '@graphex/runtime/testing';
// The real identity service (a workspace package; started in-process on a free port).
import { identityMigrationsDir, startIdentity } from '@graphex/identity';
import { HDNodeWallet } from 'ethers';
import { accountPath, keyringFromXpub } from './chain/deposit-keys.ts';
import { coreAssetIds } from './chain/withdrawal-core.ts';
import { createWalletsService, custodyPath, walletsMigrationsDir } from './index.ts';
import { createWithdrawalService } from './withdrawal-service.ts';

const config = testConfig();
const password = 'Correct-Horse-9';
let nowMs = Date.UTC(2026, 5, 1, 12, 0, 0);

let identityDb: TestDatabase;
let walletsDb: TestDatabase;
let identity: RunningService;
let wallets: RunningService;
let core: InProcessCoreClient;
let coreDir: string;

const codeOf = (response: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }): unknown =>
  response.errors?.[0]?.extensions?.['code'];

async function register(email: string): Promise<Identity> {
  const r = await callSubgraph<{ register: { accessToken: string } }>(
    identity.url,
    `mutation($i: RegisterInput!) { register(input: $i) { accessToken } }`,
    { i: { email, password } },
    undefined,
    config,
  );
  expect(r.errors).toBeUndefined();
  const claims = (await verifyAccessToken(r.data!.register.accessToken, config.jwtSecret))!;
  return { kind: 'user', userId: claims.userId, role: claims.role, sessionId: claims.sessionId };
}

async function enableTwoFactor(user: Identity): Promise<string> {
  const enrolled = await callSubgraph<{ enrollTwoFactor: { secret: string } }>(
    identity.url,
    `mutation { enrollTwoFactor { secret } }`,
    {},
    user,
    config,
  );
  const secret = enrolled.data!.enrollTwoFactor.secret;
  const confirmed = await callSubgraph<{ confirmTwoFactor: { twoFactorEnabled: boolean } }>(
    identity.url,
    `mutation($c: String!) { confirmTwoFactor(code: $c) { twoFactorEnabled } }`,
    { c: totpCode(secret, nowMs) },
    user,
    config,
  );
  expect(confirmed.data?.confirmTwoFactor.twoFactorEnabled).toBe(true);
  nowMs += 30_000;
  return secret;
}

async function approveKyc(user: Identity): Promise<void> {
  const doc = (kind: string, n: number) => ({
    kind,
    sha256: n.toString(16).padStart(64, 'a'),
    sizeBytes: 1000 + n,
    contentType: 'image/jpeg',
  });
  const submitted = await callSubgraph(
    identity.url,
    `mutation($i: KycInput!) { submitKyc(input: $i) { kycStatus } }`,
    {
      i: {
        firstName: 'Ada',
        lastName: 'Lovelace',
        dateOfBirth: '1990-12-10',
        country: 'GB',
        documents: [doc('PASSPORT', 1), doc('SELFIE', 2)],
      },
    },
    user,
    config,
  );
  expect(submitted.errors).toBeUndefined();
  // The local KYC rules provider answers through its signed webhook, asynchronously.
  await expect
    .poll(
      async () =>
        (
          await callSubgraph<{ me: { kycStatus: string } }>(
            identity.url,
            '{ me { kycStatus } }',
            {},
            user,
            config,
          )
        ).data?.me.kycStatus,
      { timeout: 10_000, interval: 20 },
    )
    .toBe('APPROVED');
}

async function requestWithdrawal(user: Identity, input: Record<string, unknown>) {
  return callSubgraph<{ requestWithdrawal: { id: string; status: string; amount: string } }>(
    wallets.url,
    'mutation ($input: WithdrawalInput!) { requestWithdrawal(input: $input) { id status amount } }',
    {
      input: {
        idempotencyKey: randomUUID(),
        currency: 'ETH',
        address: Wallet.createRandom().address,
        ...input,
      },
    },
    user,
    config,
  );
}

beforeAll(async () => {
  identityDb = await openTestDatabase('identity', identityMigrationsDir);
  identity = await startIdentity(config, {
    port: 0,
    db: identityDb.db,
    clock: () => new Date(nowMs),
    logger: testLogger,
  });
  walletsDb = await openTestDatabase('wallets', walletsMigrationsDir);
  coreDir = await mkdtemp(path.join(os.tmpdir(), 'wallets-identity-core-'));
  core = await createInProcessCoreClient({ dataDir: coreDir });
  const withdrawals = createWithdrawalService({
    db: walletsDb.db,
    core,
    identity: createIdentityInternalClient({
      identityUrl: identity.url,
      internalTokenSecret: config.internalTokenSecret,
      service: 'wallets',
    }),
    aml: {
      amountThresholdUnits: { ETH: 10n ** 20n, USDT: 10n ** 12n },
      velocityMaxCount: 100,
      velocityMaxUnits: { ETH: 10n ** 21n, USDT: 10n ** 13n },
      sanctionedAddresses: new Set(),
    },
    hotWalletAddress: null,
    provider: null,
    minConfirmations: 3,
    logger: testLogger,
  });
  wallets = await createWalletsService({
    config,
    db: walletsDb.db,
    depositKeyring: keyringFromXpub(
      HDNodeWallet.createRandom(undefined, accountPath).neuter().extendedKey,
      'environment',
    ),
    port: 0,
    logger: testLogger,
    withdrawals,
  });
}, 120_000);

afterAll(async () => {
  await wallets?.close();
  await identity?.close();
  await walletsDb?.dispose();
  await identityDb?.dispose();
  await core?.close();
  if (coreDir) await rm(coreDir, { recursive: true, force: true });
});

describe('requestWithdrawal with the real identity service', () => {
  it('needs approved KYC, then 2FA with a fresh single-use code, then stays within the tier limit', async () => {
    const user = await register(`withdrawer-${randomUUID()}@wallets.test`);
    const userId = user.kind === 'user' ? user.userId : '';
    const eth = (await coreAssetIds(core)).get('ETH')!;
    // 40 ETH available in the core (credited directly: this test is about identity's rules).
    await core.submit({ type: 'Deposit', userId, assetId: eth, amountUnits: 40n * 10n ** 18n });

    expect(codeOf(await requestWithdrawal(user, { amount: '1', totpCode: '123456' }))).toBe('KYC_REQUIRED');
    await approveKyc(user);
    expect(codeOf(await requestWithdrawal(user, { amount: '1', totpCode: '123456' }))).toBe(
      'TWO_FACTOR_REQUIRED',
    );
    const secret = await enableTwoFactor(user);
    const wrong = totpCode(secret, nowMs + 10 * 60_000);
    expect(codeOf(await requestWithdrawal(user, { amount: '1', totpCode: wrong }))).toBe(
      'TWO_FACTOR_INVALID',
    );

    const code = totpCode(secret, nowMs);
    const accepted = await requestWithdrawal(user, { amount: '1.25', totpCode: code });
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.requestWithdrawal).toMatchObject({ status: 'APPROVED', amount: '1.25' });
    // Each code works once: the same code again is refused by identity's replay guard.
    expect(codeOf(await requestWithdrawal(user, { amount: '1', totpCode: code }))).toBe('TWO_FACTOR_INVALID');

    // Tier 1: 30 ETH per 24h, 1.25 already used.
    nowMs += 30_000;
    expect(
      codeOf(
        await requestWithdrawal(user, { amount: '28.750000000000000001', totpCode: totpCode(secret, nowMs) }),
      ),
    ).toBe('LIMIT_EXCEEDED');
    const rest = await requestWithdrawal(user, { amount: '28.75', totpCode: totpCode(secret, nowMs) });
    expect(rest.data?.requestWithdrawal.status).toBe('APPROVED');
  });
});

describe('custody route', () => {
  it('answers only platform services; without a chain it is unavailable with a reason', async () => {
    const url = new URL(custodyPath, wallets.url);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { [serviceTokenHeader]: 'forged' } })).status).toBe(401);
    const answer = await fetch(url, {
      headers: { [serviceTokenHeader]: await signServiceToken('ledger', config.internalTokenSecret, 60) },
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({
      available: false,
      reason: 'ETH_RPC_URL is unset: no chain to read',
      blockNumber: 0,
      assets: [],
    });
  });
});
