/**
 * A minimal WebSocket client for load generators (RFC 6455, client side): the opening handshake,
 * unmasked server frames parsed straight out of the socket's chunks, and masked text and pong
 * frames out. No extensions, no fragmentation (the gateway never fragments).
 *
 * `bench:fanout` holds 5,000 subscribers on the same two cores as the platform it measures; `ws`
 * spends most of their CPU on its per-message machinery (a Writable stream per socket, a Buffer and
 * an event per message). Here a chunk carrying several frames costs one pass over it, so the
 * figures show the gateway's work rather than the readers'.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawWebSocketHandlers {
  /** The handshake completed: messages may be sent. */
  open(): void;
  /** A text message: `chunk.toString('latin1' | 'utf8', start, end)` reads it (valid during the call). */
  text(chunk: Buffer, start: number, end: number): void;
  /** The connection ended: a close frame, a socket error or end, or a protocol violation. */
  closed(reason: string): void;
}

export interface RawWebSocket {
  send(text: string): void;
  /** Sends a close frame and resolves once the socket is gone. */
  close(): Promise<void>;
}

const websocketGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A masked client frame. The mask key is zero: valid, and the server's unmasking is a no-op. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.alloc(header + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65_536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, header + 4);
  return frame;
}

export function openRawWebSocket(
  url: string,
  protocol: string,
  handlers: RawWebSocketHandlers,
): RawWebSocket {
  const { hostname, port, pathname } = new URL(url);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1')
    .update(key + websocketGuid)
    .digest('base64');
  const socket: Socket = connect({ host: hostname, port: Number(port) });
  socket.setNoDelay(true);
  let upgraded = false;
  let pending: Buffer | null = null;
  let ended = false;
  const end = (reason: string): void => {
    if (ended) return;
    ended = true;
    handlers.closed(reason);
    socket.destroy();
  };

  socket.on('connect', () => {
    socket.write(
      `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
    );
  });

  /** Parses every whole frame in `chunk` from `offset`; returns where the unparsed rest starts. */
  const frames = (chunk: Buffer, offset: number): number => {
    while (chunk.length - offset >= 2) {
      const first = chunk[offset]!;
      const second = chunk[offset + 1]!;
      if ((first & 0x80) === 0 || (second & 0x80) !== 0) {
        end('protocol: fragmented or masked server frame');
        return chunk.length;
      }
      let length = second & 0x7f;
      let header = 2;
      if (length === 126) {
        if (chunk.length - offset < 4) return offset;
        length = chunk.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (chunk.length - offset < 10) return offset;
        length = Number(chunk.readBigUInt64BE(offset + 2));
        header = 10;
      }
      const start = offset + header;
      if (chunk.length - start < length) return offset;
      const opcode = first & 0x0f;
      if (opcode === 0x1) handlers.text(chunk, start, start + length);
      else if (opcode === 0x9) socket.write(clientFrame(0xa, chunk.subarray(start, start + length)));
      else if (opcode === 0x8) {
        const code = length >= 2 ? chunk.readUInt16BE(start) : 1005;
        end(`close ${code}`);
        return chunk.length;
      }
      offset = start + length;
    }
    return offset;
  };

  socket.on('data', (data: Buffer) => {
    const chunk = pending ? Buffer.concat([pending, data]) : data;
    pending = null;
    let offset = 0;
    if (!upgraded) {
      const headersEnd = chunk.indexOf('\r\n\r\n');
      if (headersEnd < 0) {
        pending = chunk;
        return;
      }
      const head = chunk.toString('latin1', 0, headersEnd);
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(accept)) {
        end(`handshake refused: ${head.split('\r\n')[0]}`);
        return;
      }
      upgraded = true;
      offset = headersEnd + 4;
      handlers.open();
    }
    offset = frames(chunk, offset);
    if (offset < chunk.length && !ended) pending = chunk.subarray(offset);
  });
  socket.on('error', (error) => end(`socket error ${error.message}`));
  socket.on('close', () => end('socket closed'));

  return {
    send: (text) => {
      if (!ended) socket.write(clientFrame(0x1, Buffer.from(text, 'utf8')));
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        const code = Buffer.alloc(2);
        code.writeUInt16BE(1000);
        ended = true;
        socket.end(clientFrame(0x8, code));
        setTimeout(() => socket.destroy(), 2_000).unref();
      }),
  };
}
