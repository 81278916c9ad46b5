/**
 * Orders subgraph: the read model of the matching core's orders and fills, `User.orders` as a
 * cursor connection and `order(id)`. placeOrder / cancelOrder arrive with the core (issue 4),
 * which feeds `applyOrderEvent` from its event stream.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import {
  createLogger,
  loadConfig,
  openDatabase,
  startSubgraphService,
  subgraphPort,
  type Database,
  type Logger,
  type PlatformConfig,
  type RunningService,
} from '@graphex/runtime';
import type { SubgraphContext } from './context.ts';
import { resolvers } from './resolvers/index.ts';
import { OrdersView } from './store/orders-view.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const ordersMigrationsDir = path.join(packageDir, 'src', 'migrations');
export const ordersSdl = readFileSync(path.join(packageDir, 'schema.graphql'), 'utf8');
export const ordersSchemaName = 'orders';

export interface OrdersServiceOptions {
  readonly config: PlatformConfig;
  /** An opened, migrated database; the caller closes it after `close()`. */
  readonly db: Database;
  readonly port: number;
  readonly logger: Logger;
}

export async function createOrdersService(options: OrdersServiceOptions): Promise<RunningService> {
  const { db } = options;
  return startSubgraphService<SubgraphContext>({
    name: 'orders',
    schema: buildSubgraphSchema([
      { typeDefs: parse(ordersSdl), resolvers: resolvers as GraphQLResolverMap<unknown> },
    ]),
    port: options.port,
    config: options.config,
    logger: options.logger,
    createContext: (base) => ({ ...base, orders: new OrdersView(db) }),
    isReady: async () => {
      await db.query('SELECT 1');
      return true;
    },
  });
}

export interface OrdersOverrides {
  readonly port?: number;
  readonly logger?: Logger;
  /** Postgres schema to use instead of `orders` (tests isolate themselves with it). */
  readonly schema?: string;
}

/** Starts orders from configuration: database under DATA_DIR/orders or DATABASE_URL. */
export async function startOrders(
  config: PlatformConfig = loadConfig(),
  overrides: OrdersOverrides = {},
): Promise<RunningService> {
  const logger = overrides.logger ?? createLogger('orders', config.logLevel);
  const db = await openDatabase({
    schema: overrides.schema ?? ordersSchemaName,
    databaseUrl: config.databaseUrl,
    dataDir: path.join(config.dataDir, 'orders'),
    migrationsDir: ordersMigrationsDir,
  });
  try {
    const service = await createOrdersService({
      config,
      db,
      port: overrides.port ?? subgraphPort('orders'),
      logger,
    });
    return { ...service, close: () => service.close().finally(() => db.close()) };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

export {
  applyOrderEvent,
  applyOrderEvents,
  projectionPosition,
  ProjectionInvariantError,
} from './projections/order-projection.ts';
export type { OrderProjectionEvent, ApplyOutcome } from './projections/order-projection.ts';
export type { OrderState, FillState, OrderRecord, FillRecord } from './domain/order.ts';
