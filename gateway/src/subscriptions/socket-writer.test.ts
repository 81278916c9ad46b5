import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { SubscriberChannel, type OverflowDecision } from './subscriber-channel.ts';
import { createSocketWriter, type ConnectionOutput } from './socket-writer.ts';

const serializePayload = (result: ExecutionResult): Buffer => Buffer.from(JSON.stringify(result), 'utf8');

function channelFor(
  output: ConnectionOutput,
  id: string,
  capacity = 16,
  onOverflow: (queued: readonly ExecutionResult[]) => OverflowDecision<ExecutionResult> = () => ({
    kind: 'fail',
    error: new Error('slow'),
  }),
): SubscriberChannel<ExecutionResult> {
  return new SubscriberChannel<ExecutionResult>({
    capacity,
    onOverflow,
    onClose: () => undefined,
    direct: output.delivery(id),
  });
}

/** No congestion in sight: a megabyte of room, no lag probes. */
const roomy = { highWaterBytes: 1 << 20, maxLagMs: 60_000, probeIntervalMs: 60_000 };

const graphqlWsNext = (id: string, payload: ExecutionResult): string =>
  stringifyMessage({ id, type: MessageType.Next, payload });

describe('the socket writer, against a real ws client', () => {
  let server: Server | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function connect(): Promise<{ serverSocket: WebSocket; raw: Duplex; received: string[] }> {
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    const accepted = new Promise<{ serverSocket: WebSocket; raw: Duplex }>((resolve) => {
      server = createServer();
      server.on('upgrade', (request, raw: Duplex, head) =>
        wss.handleUpgrade(request, raw, head, (serverSocket) => resolve({ serverSocket, raw })),
      );
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server!.address() as AddressInfo;
    const client = new WebSocket(`ws://127.0.0.1:${port}/graphql`);
    sockets.push(client);
    const received: string[] = [];
    client.on('message', (data: Buffer) => received.push(data.toString('utf8')));
    await new Promise((resolve) => client.once('open', resolve));
    const { serverSocket, raw } = await accepted;
    sockets.push(serverSocket);
    return { serverSocket, raw, received };
  }

  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(check()).toBe(true);
  }

  it("writes graphql-ws' exact `next` messages, in order, for small, 16-bit and 64-bit frame lengths", async () => {
    const { serverSocket, raw, received } = await connect();
    const writer = createSocketWriter({ ...roomy, serializePayload });
    const output = writer.connection(raw, () => serverSocket.readyState === serverSocket.OPEN);
    const a = channelFor(output, 'a');
    const b = channelFor(output, 'b "quoted" \u00e9');
    const small: ExecutionResult = { data: { n: 1 } };
    const medium: ExecutionResult = { data: { text: 'x'.repeat(1_000) } };
    const large: ExecutionResult = { data: { text: '\u00e9'.repeat(40_000) } }; // 80 kB of UTF-8
    a.push(small);
    b.push(small);
    a.push(medium);
    a.push(large);
    serverSocket.send('sent by ws itself'); // written at once, between flushes
    await until(() => received.length === 5);
    expect(received).toEqual([
      'sent by ws itself',
      graphqlWsNext('a', small),
      graphqlWsNext('a', medium),
      graphqlWsNext('a', large),
      graphqlWsNext('b "quoted" \u00e9', small),
    ]);
  });

  it('serialises a result shared by many subscribers once', async () => {
    const { serverSocket, raw, received } = await connect();
    let serialisations = 0;
    const writer = createSocketWriter({
      ...roomy,
      serializePayload: (result) => {
        serialisations += 1;
        return serializePayload(result);
      },
    });
    const output = writer.connection(raw, () => serverSocket.readyState === serverSocket.OPEN);
    const channels = Array.from({ length: 50 }, (_, i) => channelFor(output, String(i)));
    const shared: ExecutionResult = { data: { book: [1, 2, 3] } };
    for (const channel of channels) channel.push(shared);
    await until(() => received.length === 50);
    expect(serialisations).toBe(1);
    expect(new Set(received.map((message) => (JSON.parse(message) as { id: string }).id)).size).toBe(50);
  });

  it('writes the last events synchronously when a stream ends, before what is sent after', async () => {
    const { serverSocket, raw, received } = await connect();
    const writer = createSocketWriter({ ...roomy, serializePayload });
    const output = writer.connection(raw, () => serverSocket.readyState === serverSocket.OPEN);
    const channel = channelFor(output, 'op');
    channel.push({ data: { last: true } });
    channel.end();
    serverSocket.send(stringifyMessage({ id: 'op', type: MessageType.Complete }));
    await until(() => received.length === 2);
    expect(received).toEqual([
      graphqlWsNext('op', { data: { last: true } }),
      stringifyMessage({ id: 'op', type: MessageType.Complete }),
    ]);
  });

  it('writes nothing once the connection is closed or no longer open', async () => {
    const { serverSocket, raw, received } = await connect();
    const writer = createSocketWriter({ ...roomy, serializePayload });
    let open = true;
    const output = writer.connection(raw, () => open);
    const channel = channelFor(output, 'op');
    open = false;
    channel.push({ data: { n: 1 } });
    await new Promise((resolve) => setImmediate(resolve));
    output.close();
    channel.push({ data: { n: 2 } });
    serverSocket.send('marker');
    await until(() => received.length === 1);
    expect(received).toEqual(['marker']);
  });
});

/** A socket whose unsent bytes the test controls. */
class FakeSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  readonly writes: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    return true;
  }
}

describe('the socket writer under backpressure', () => {
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('coalesces every ready event of a connection into one write per flush', async () => {
    const socket = new FakeSocket();
    const writer = createSocketWriter({ ...roomy, highWaterBytes: 100, serializePayload });
    const output = writer.connection(socket as unknown as Duplex, () => true);
    const a = channelFor(output, 'a');
    const b = channelFor(output, 'b');
    for (let i = 0; i < 5; i++) {
      a.push({ data: { i } });
      b.push({ data: { i } });
    }
    await tick();
    expect(socket.writes).toHaveLength(1);
  });

  it('holds events in the bounded queues while the socket is congested, then resumes on drain', async () => {
    const socket = new FakeSocket();
    const writer = createSocketWriter({ ...roomy, highWaterBytes: 100, serializePayload });
    const output = writer.connection(socket as unknown as Duplex, () => true);
    const snapshot: ExecutionResult = { data: { kind: 'SNAPSHOT' } };
    const channel = channelFor(output, 'a', 3, () => ({ kind: 'replace', items: [snapshot] }));
    socket.writableLength = 101;
    channel.push({ data: { i: 1 } });
    await tick();
    expect(socket.writes).toHaveLength(0);
    for (let i = 2; i <= 4; i++) channel.push({ data: { i } }); // the fourth overflows: resync
    expect(channel.queuedCount).toBe(1);
    channel.push({ data: { i: 5 } });
    await tick();
    expect(socket.writes).toHaveLength(0);
    socket.writableLength = 0;
    socket.emit('drain');
    await tick();
    expect(socket.writes).toHaveLength(1);
    const text = socket.writes[0]!.toString('utf8');
    expect(text).toContain('"payload":{"data":{"kind":"SNAPSHOT"}}');
    expect(text).toContain('"payload":{"data":{"i":5}}');
    expect(text).not.toContain('"i":2');
  });

  it('drops a subscriber that falls behind on a congested socket when its feed cannot resync', async () => {
    const socket = new FakeSocket();
    const writer = createSocketWriter({ ...roomy, highWaterBytes: 100, serializePayload });
    const output = writer.connection(socket as unknown as Duplex, () => true);
    const channel = channelFor(output, 'a', 2);
    socket.writableLength = 1_000;
    const ended = channel.next();
    for (let i = 0; i < 3; i++) channel.push({ data: { i } });
    await expect(ended).rejects.toThrow('slow');
    socket.writableLength = 0;
    socket.emit('drain');
    await tick();
    expect(socket.writes).toHaveLength(0);
  });

  it('stops writing a connection whose lag probe is unanswered past maxLagMs, until its pong', async () => {
    const socket = new FakeSocket();
    let clock = 1_000;
    const writer = createSocketWriter({
      highWaterBytes: 1 << 20,
      maxLagMs: 500,
      probeIntervalMs: 250,
      now: () => clock,
      serializePayload,
    });
    const output = writer.connection(socket as unknown as Duplex, () => true);
    const channel = channelFor(output, 'a');
    const ping = Buffer.concat([Buffer.from([0x89, 6]), Buffer.from('gx-lag')]);
    channel.push({ data: { i: 1 } });
    await tick();
    expect(socket.writes).toHaveLength(1);
    expect(socket.writes[0]!.subarray(-ping.length)).toEqual(ping); // the probe rides along
    clock += 100;
    channel.push({ data: { i: 2 } });
    await tick();
    expect(socket.writes).toHaveLength(2); // within the lag bound; no second probe while one is out
    expect(socket.writes[1]!.includes(ping)).toBe(false);
    clock += 401; // the probe is now 501 ms old
    channel.push({ data: { i: 3 } });
    channel.push({ data: { i: 4 } });
    await tick();
    expect(socket.writes).toHaveLength(2);
    output.pong(Buffer.alloc(0)); // graphql-ws' keep-alive pong: not ours
    await tick();
    expect(socket.writes).toHaveLength(2);
    output.pong(Buffer.from('gx-lag'));
    await tick();
    expect(socket.writes).toHaveLength(3);
    const text = socket.writes[2]!.toString('utf8');
    expect(text).toContain('{"data":{"i":3}}');
    expect(text).toContain('{"data":{"i":4}}');
    expect(socket.writes[2]!.subarray(-ping.length)).toEqual(ping); // a new probe (interval passed)
  });
});
