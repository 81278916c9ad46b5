/**
 * Test harness for the gateway's own tests: two tiny in-process subgraphs (`test/services/*`), a
 * supergraph composed from them in memory, and a gateway over it — all on port 0, independent of
 * the real GraphEx subgraphs. Logs are captured so tests can assert what was (not) logged.
 */
import net from 'node:net';
import { createLogger, type Logger, type PlatformConfig, type RunningService } from '@graphex/runtime';
import { testConfig } from '@graphex/runtime/testing';
import { composeSupergraph } from '../src/composition.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../src/gateway.ts';
import { accountsTypeDefs, startAccountsSubgraph } from './services/accounts/server.ts';
import { ordersTypeDefs, startOrdersSubgraph } from './services/orders/server.ts';

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every JSON line written so far, parsed. */
  readonly records: Record<string, unknown>[];
  /** Every line as written (to search for leaked text). */
  readonly text: () => string;
}

export function captureLogger(service: string): CapturedLogger {
  const lines: string[] = [];
  return {
    logger: createLogger(service, 'debug', {}, (line) => lines.push(line)),
    get records() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => lines.join('\n'),
  };
}

/**
 * The test supergraph. Its URLs are deliberately unusable: the gateway must take the real ones from
 * the `subgraphUrls` override, as it takes `<NAME>_URL` in production.
 */
export function composeTestSupergraph(): string {
  const outcome = composeSupergraph([
    {
      name: 'accounts',
      url: 'http://accounts.invalid/graphql',
      typeDefs: accountsTypeDefs,
      sourceName: 'accounts',
    },
    { name: 'orders', url: 'http://orders.invalid/graphql', typeDefs: ordersTypeDefs, sourceName: 'orders' },
  ]);
  if (!outcome.ok) throw new Error(`test supergraph does not compose:\n${outcome.errors.join('\n')}`);
  return outcome.supergraphSdl;
}

/** A TCP port nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface TestPlatform {
  readonly config: PlatformConfig;
  readonly gateway: RunningGateway;
  readonly accounts: RunningService;
  readonly orders: RunningService;
  readonly logs: {
    readonly gateway: CapturedLogger;
    readonly accounts: CapturedLogger;
    readonly orders: CapturedLogger;
  };
  close(): Promise<void>;
}

export async function startTestPlatform(gatewayOptions: Partial<GatewayOptions> = {}): Promise<TestPlatform> {
  const config = testConfig();
  const logs = {
    gateway: captureLogger('gateway'),
    accounts: captureLogger('accounts'),
    orders: captureLogger('orders'),
  };
  const started: RunningService[] = [];
  try {
    const accounts = await startAccountsSubgraph({ config, logger: logs.accounts.logger });
    started.push(accounts);
    const orders = await startOrdersSubgraph({ config, logger: logs.orders.logger });
    started.push(orders);
    const gateway = await startGateway(config, {
      port: 0,
      logger: logs.gateway.logger,
      supergraphSdl: composeTestSupergraph(),
      subgraphUrls: { accounts: accounts.url, orders: orders.url },
      ...gatewayOptions,
    });
    started.push(gateway);
    return {
      config,
      gateway,
      accounts,
      orders,
      logs,
      close: async () => {
        await Promise.all(started.map((service) => service.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((service) => service.close()));
    throw error;
  }
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  } & Record<string, unknown>;
}

async function toResult(response: Response): Promise<HttpResult> {
  const text = await response.text();
  let json: HttpResult['json'];
  try {
    json = JSON.parse(text) as HttpResult['json'];
  } catch {
    json = undefined as unknown as HttpResult['json'];
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POSTs a GraphQL request to the gateway. */
export async function postGraphQL(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables ?? {} }),
  });
  return toResult(response);
}

export async function getUrl(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return toResult(await fetch(url, { headers }));
}
