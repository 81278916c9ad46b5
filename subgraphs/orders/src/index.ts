/**
 * Orders subgraph: `placeOrder` / `cancelOrder` / `cancelAllOrders` through the matching core,
 * the order read model (a projection of the core's events with fills), `User.orders`,
 * `order(id)` and the `myOrders` / `myFills` subscriptions (graphql-ws on /graphql).
 *
 * - `createOrdersService(options)`: serves over an open, migrated database and a CoreClient.
 * - `startOrders(config, overrides?)`: opens the database, connects to the core (MATCHING_CORE_URL)
 *   unless a client is injected, opens the bus (REDIS_URL or in-memory) and serves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import {
  createLogger,
  createMemoryBus,
  loadConfig,
  openBus,
  openDatabase,
  startAuditRelay,
  startProjectionRunner,
  startSubgraphService,
  subgraphPort,
  subgraphUrl,
  type AuditRelay,
  type Bus,
  type Database,
  type Logger,
  type PlatformConfig,
  type ProjectionRunner,
  type RunningService,
} from '@graphex/runtime';
import type { CoreClient, PublicCoreEvent } from '@graphex/schema';
import type { SubgraphContext } from './context.ts';
import type { MarketCatalog } from './domain/market.ts';
import {
  applyCoreEvents,
  loadCatalogAndPosition,
  maxEventsPerBatch,
  projectionPosition,
  WrittenOrders,
} from './projections/order-projection.ts';
import { resolvers } from './resolvers/index.ts';
import { OrdersView } from './store/orders-view.ts';
import { publishNotifications, UserStreams } from './subscriptions/user-streams.ts';
import { createTrading } from './trading.ts';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const ordersMigrationsDir = path.join(packageDir, 'src', 'migrations');
export const ordersSdl = readFileSync(path.join(packageDir, 'schema.graphql'), 'utf8');
export const ordersSchemaName = 'orders';

export interface OrdersServiceOptions {
  readonly config: PlatformConfig;
  /** An opened, migrated database; the caller closes it after `close()`. */
  readonly db: Database;
  readonly core: CoreClient;
  /** Subscription fan-out; in-memory when absent. The caller closes a bus it passed. */
  readonly bus?: Bus;
  readonly port: number;
  readonly logger: Logger;
  /**
   * Ship the audit outbox (placements, cancels) to identity at this URL (its GraphQL URL); without
   * it the records wait in the outbox until a service started with it ships them.
   */
  readonly auditIdentityUrl?: string;
}

export interface OrdersService extends RunningService {
  readonly projection: ProjectionRunner;
  readonly catalog: MarketCatalog;
}

/**
 * Starts the projection (after the caller migrated the database), then serves. /health is ready
 * once the projection caught up with the core's event log as it was at start.
 */
export async function createOrdersService(options: OrdersServiceOptions): Promise<OrdersService> {
  const { db, core, logger } = options;
  const ownBus = options.bus === undefined;
  const bus =
    options.bus ?? createMemoryBus((error) => logger.error('order stream handler failed', { error }));
  const start = await loadCatalogAndPosition(db);
  const { catalog } = start;
  let startPosition: number | null = start.position;
  const written = new WrittenOrders();
  // Set once trading exists (the runner may deliver a batch before that: nothing is cached yet).
  let observeCoreEvents: ((events: readonly PublicCoreEvent[]) => void) | null = null;
  const projection = await startProjectionRunner({
    name: 'orders',
    readModel: 'order',
    core,
    logger,
    maxEventsPerBatch,
    // First the position the catalog was read at; afterwards (resubscribing) the stored one.
    readPosition: async () => {
      const position = startPosition ?? (await projectionPosition(db));
      startPosition = null;
      return position;
    },
    apply: async (events) => {
      const result = await applyCoreEvents(db, catalog, events, written);
      // Applied here or by another instance: either way the read model now holds these events.
      observeCoreEvents?.(events);
      // Only after the commit: a subscriber that reads the read model sees what it was told.
      await publishNotifications(bus, result.notifications, logger);
      return result.position;
    },
  });
  const trading = createTrading({ core, catalog, projection, db, logger });
  observeCoreEvents = trading.observeCoreEvents;
  const auditRelay: AuditRelay | null = options.auditIdentityUrl
    ? startAuditRelay({
        db,
        source: 'orders',
        identityUrl: options.auditIdentityUrl,
        internalTokenSecret: options.config.internalTokenSecret,
        logger,
      })
    : null;
  const streams = new UserStreams(bus);
  try {
    const service = await startSubgraphService<SubgraphContext>({
      name: 'orders',
      schema: buildSubgraphSchema([
        { typeDefs: parse(ordersSdl), resolvers: resolvers as GraphQLResolverMap<unknown> },
      ]),
      port: options.port,
      config: options.config,
      logger,
      createContext: (base) => ({ ...base, orders: new OrdersView(db), trading, streams }),
      subscriptions: {},
      isReady: async () => {
        if (!projection.caughtUp()) return false;
        await db.query('SELECT 1');
        return true;
      },
      onClose: async () => {
        await projection.close();
        await auditRelay?.stop();
        if (ownBus) await bus.close();
      },
    });
    return { ...service, projection, catalog };
  } catch (error) {
    await projection.close();
    await auditRelay?.stop();
    if (ownBus) await bus.close();
    throw error;
  }
}

export interface OrdersOverrides {
  readonly port?: number;
  readonly logger?: Logger;
  /** Postgres schema to use instead of `orders` (tests isolate themselves with it). */
  readonly schema?: string;
  /** An open, migrated database to use instead of opening one (the caller closes it). */
  readonly db?: Database;
  /** The core to use instead of connecting to MATCHING_CORE_URL (the caller closes it). */
  readonly coreClient?: CoreClient;
  /** The bus to use instead of opening REDIS_URL / in-memory (the caller closes it). */
  readonly bus?: Bus;
  /** Where to ship audit records: identity's URL (default `subgraphUrl('identity')`), null = not shipped. */
  readonly auditIdentityUrl?: string | null;
}

/** Starts orders from configuration: database under DATA_DIR/orders or DATABASE_URL. */
export async function startOrders(
  config: PlatformConfig = loadConfig(),
  overrides: OrdersOverrides = {},
): Promise<OrdersService> {
  const logger = overrides.logger ?? createLogger('orders', config.logLevel);
  const db =
    overrides.db ??
    (await openDatabase({
      schema: overrides.schema ?? ordersSchemaName,
      databaseUrl: config.databaseUrl,
      dataDir: path.join(config.dataDir, 'orders'),
      migrationsDir: ordersMigrationsDir,
    }));
  const closers: Array<() => Promise<void>> = [];
  if (overrides.db === undefined) closers.push(() => db.close());
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    let core = overrides.coreClient;
    if (!core) {
      const { connectConfiguredCore } = await import('@graphex/matching-core');
      const remote = connectConfiguredCore('orders', {
        internalTokenSecret: config.internalTokenSecret,
        logger,
      });
      closers.push(() => remote.close());
      core = remote;
    }
    let bus = overrides.bus;
    if (!bus) {
      const opened = await openBus(config.redisUrl, (error) =>
        logger.error('order stream handler failed', { error }),
      );
      closers.push(() => opened.close());
      bus = opened;
    }
    const service = await createOrdersService({
      config,
      db,
      core,
      bus,
      port: overrides.port ?? subgraphPort('orders'),
      logger,
      ...(overrides.auditIdentityUrl === null
        ? {}
        : { auditIdentityUrl: overrides.auditIdentityUrl ?? subgraphUrl('identity') }),
    });
    return { ...service, close: () => service.close().finally(closeAll) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export {
  applyCoreEvents,
  loadCatalog,
  loadCatalogAndPosition,
  projectionPosition,
  ProjectionInvariantError,
  WrittenOrders,
} from './projections/order-projection.ts';
export type { ProjectionBatchResult } from './projections/order-projection.ts';
export type { ProjectionRunner } from '@graphex/runtime';
export { MarketCatalog, type MarketSpec, type AssetSpec } from './domain/market.ts';
export { foldOrderEvents, type OrderNotification } from './domain/order-fold.ts';
export { planPlaceOrder, type PlaceOrderRequest, type PlaceOrderPlan } from './domain/place-order.ts';
export { userTopic } from './subscriptions/user-streams.ts';
export type { OrderRecord, FillRecord } from './domain/order.ts';
