/**
 * The matching core as the rest of the exchange sees it, across a process boundary.
 *
 * Inside the core, users are dense integers (fast arrays, compact journal). Outside, a user is the
 * identity subgraph's id (a UUID string). The core service translates at its boundary, so subgraphs
 * only ever see `userId: string`. Markets and assets keep their small integer ids; their symbols
 * and sizes arrive as AssetAdded / MarketAdded events at the start of the event log.
 *
 * JSON on the wire: bigint fields travel as decimal strings and are restored by `decodeCoreEvent`
 * / `decodeCommand` from the closed list of bigint field names below.
 */
import type { CommandInput, CommandResult, CoreEvent } from './core-protocol.ts';

/** Field names that hold a user id inside the core (integers) and outside (strings). */
type UserIdField = 'userId' | 'makerUserId' | 'takerUserId';

type WithUserRefs<T> = { readonly [K in keyof T]: K extends UserIdField ? string : T[K] };
type DistributeUserRefs<T> = T extends unknown ? WithUserRefs<T> : never;

/** A core command as a subgraph sends it (user ids are identity's UUIDs). */
export type CoreCommand = DistributeUserRefs<CommandInput>;
/** A core event as subgraphs receive it (user ids are identity's UUIDs). */
export type PublicCoreEvent = DistributeUserRefs<CoreEvent>;

/** What `submit` answers once the command is durable: its result and every event it caused. */
export interface SubmitOutcome {
  readonly result: CommandResult;
  readonly events: readonly PublicCoreEvent[];
}

export interface CoreSubscription {
  close(): Promise<void>;
}

export interface CoreEventHandler {
  /**
   * Called with consecutive batches in global `eventSeq` order, starting after `afterEventSeq`.
   * The next batch is delivered only after the returned promise settles (backpressure), so a
   * projection can apply a batch in one database transaction and record its position.
   */
  (events: readonly PublicCoreEvent[]): Promise<void> | void;
}

/**
 * Port to the matching core. Adapters: in-process (core worker in this process, embedded start and
 * tests) and remote (the core service over HTTP/WebSocket).
 */
export interface CoreClient {
  /** Sequences, journals and applies one command; resolves when durable (rule 3: ack after durable). */
  submit(command: CoreCommand): Promise<SubmitOutcome>;
  /**
   * Replays every event with `eventSeq > afterEventSeq` from the event log, then follows live.
   * Reconnects by itself after transport failures, resuming after the last delivered event.
   * `onError` hears about a handler that threw (the subscription stops: a projection must not
   * skip an event) or a failure it could not recover from.
   */
  subscribe(
    afterEventSeq: number,
    handler: CoreEventHandler,
    onError?: (error: Error) => void,
  ): CoreSubscription;
  /** Highest durable event sequence number. */
  lastEventSeq(): Promise<number>;
  close(): Promise<void>;
}

/** Every field of a command or an event that is a bigint in memory. */
export const bigintFieldNames: ReadonlySet<string> = new Set([
  'amountUnits',
  'quoteBudgetUnits',
  'holdUnits',
  'baseUnits',
  'quoteUnits',
  'makerFeeUnits',
  'takerFeeUnits',
  'availableUnits',
  'lockedUnits',
  'tickSizeQuoteUnits',
  'lotSizeBaseUnits',
  'minNotionalQuoteUnits',
]);

/** JSON text of a command or event: bigint fields become decimal strings. */
export function encodeWire(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    typeof field === 'bigint' ? field.toString() : field,
  );
}

const integerText = /^-?\d+$/;

function reviveBigints(value: object): void {
  if (Array.isArray(value)) {
    for (const element of value as unknown[])
      if (element !== null && typeof element === 'object') reviveBigints(element);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const field = record[key];
    if (typeof field === 'string') {
      if (!bigintFieldNames.has(key)) continue;
      if (!integerText.test(field)) throw new SyntaxError(`Field ${key} must be an integer string.`);
      record[key] = BigInt(field);
    } else if (field !== null && typeof field === 'object') {
      reviveBigints(field);
    }
  }
}

/**
 * Parses wire JSON, turning the known bigint fields back into bigint (nested objects included).
 * Parsed plainly, then walked once: a JSON.parse reviver would be called back for every key and
 * array element of every event, the largest JavaScript cost of a projection following the core.
 */
export function decodeWire<T>(text: string): T {
  const parsed: unknown = JSON.parse(text);
  if (parsed !== null && typeof parsed === 'object') reviveBigints(parsed);
  return parsed as T;
}
