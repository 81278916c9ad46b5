/**
 * Binary command codec for the journal (and anything else that needs commands as bytes).
 *
 * Record framing on disk: [u32 payloadLength LE][u32 crc32(payload) LE][payload]. A torn write
 * leaves either a short header, a length running past the end of the file, or a checksum mismatch —
 * all three are detected and the record is dropped, never misread.
 *
 * Payload: u8 command type, f64 seq, f64 timeMs, then the fields of that type. Integers are safe
 * integers written as f64 (exact up to 2^53); bigints as i8 sign + u8 word count + u64 words;
 * strings as u16 byte length + UTF-8; nullable fields get a u8 presence flag first.
 */
import type {
  Command,
  CommandInput,
  OrderType,
  SelfTradePrevention,
  Side,
  TimeInForce,
} from '@graphex/schema';

const TYPES = [
  'AddAsset',
  'AddMarket',
  'HaltMarket',
  'ResumeMarket',
  'Deposit',
  'WithdrawHold',
  'WithdrawSettle',
  'WithdrawRelease',
  'AdminAdjust',
  'PlaceOrder',
  'CancelOrder',
  'CancelAll',
  'AmendOrder',
] as const satisfies readonly CommandInput['type'][];
const TYPE_CODE = new Map<string, number>(TYPES.map((t, i) => [t, i]));
const SIDES: readonly Side[] = ['BUY', 'SELL'];
const ORDER_TYPES: readonly OrderType[] = ['LIMIT', 'MARKET', 'STOP_LIMIT', 'STOP_MARKET'];
const TIFS: readonly TimeInForce[] = ['GTC', 'IOC', 'FOK'];
const STPS: readonly SelfTradePrevention[] = ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'];

export const RECORD_HEADER_BYTES = 8;
/** Upper bound of one encoded command (strings are capped at 64 KiB by the u16 length). */
export const MAX_RECORD_BYTES = 1 << 20;

// ------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, the zlib polynomial), table driven: deterministic and dependency-free.
// Slice-by-4: four tables, four bytes per step (about 3× the byte-wise loop; records are short,
// so this is most of the encoding cost).
const CRC_TABLES = (() => {
  const t = new Int32Array(4 * 256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n += 1) {
    t[256 + n] = (t[n]! >>> 8) ^ t[t[n]! & 0xff]!;
    t[512 + n] = (t[256 + n]! >>> 8) ^ t[t[256 + n]! & 0xff]!;
    t[768 + n] = (t[512 + n]! >>> 8) ^ t[t[512 + n]! & 0xff]!;
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = CRC_TABLES;
  let crc = -1;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    crc ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    crc =
      t[768 + (crc & 0xff)]! ^
      t[512 + ((crc >>> 8) & 0xff)]! ^
      t[256 + ((crc >>> 16) & 0xff)]! ^
      t[crc >>> 24]!;
  }
  for (; i < end; i += 1) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

// ------------------------------------------------------------------------------------------

/** Appends framed records to a growable buffer. */
export class RecordWriter {
  buffer: Buffer;
  view: DataView;
  offset = 0;

  constructor(initialBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  #ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.offset + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buffer.copy(next, 0, 0, this.offset);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  reset(): void {
    this.offset = 0;
  }

  u8(v: number): void {
    this.view.setUint8(this.offset, v);
    this.offset += 1;
  }
  num(v: number): void {
    this.view.setFloat64(this.offset, v, true);
    this.offset += 8;
  }
  optNum(v: number | null): void {
    if (v === null) this.u8(0);
    else {
      this.u8(1);
      this.num(v);
    }
  }
  big(v: bigint): void {
    let magnitude = v < 0n ? -v : v;
    this.u8(v < 0n ? 1 : 0);
    const countAt = this.offset;
    this.u8(0);
    let words = 0;
    do {
      this.#ensure(8);
      this.view.setBigUint64(this.offset, magnitude & 0xffff_ffff_ffff_ffffn, true);
      this.offset += 8;
      magnitude >>= 64n;
      words += 1;
    } while (magnitude > 0n);
    this.view.setUint8(countAt, words);
  }
  optBig(v: bigint | null): void {
    if (v === null) this.u8(0);
    else {
      this.u8(1);
      this.big(v);
    }
  }
  str(v: string): void {
    this.#ensure(2 + v.length * 3);
    const written = this.buffer.write(v, this.offset + 2, 'utf8');
    if (written > 0xffff) throw new Error('string too long for the journal');
    this.view.setUint16(this.offset, written, true);
    this.offset += 2 + written;
  }
  optStr(v: string | null): void {
    if (v === null) this.u8(0);
    else {
      this.u8(1);
      this.str(v);
    }
  }

  /** Appends one framed command record. */
  writeCommand(c: Command): void {
    this.#ensure(512);
    const start = this.offset;
    this.offset += RECORD_HEADER_BYTES;
    const payloadStart = this.offset;
    const code = TYPE_CODE.get(c.type);
    if (code === undefined) throw new Error(`cannot journal command type ${String(c.type)}`);
    this.u8(code);
    this.num(c.seq);
    this.num(c.timeMs);
    switch (c.type) {
      case 'AddAsset':
        this.num(c.assetId);
        this.str(c.symbol);
        this.num(c.decimals);
        break;
      case 'AddMarket':
        this.num(c.marketId);
        this.str(c.symbol);
        this.num(c.baseAssetId);
        this.num(c.quoteAssetId);
        this.big(c.tickSizeQuoteUnits);
        this.big(c.lotSizeBaseUnits);
        this.big(c.minNotionalQuoteUnits);
        this.num(c.makerFeePpm);
        this.num(c.takerFeePpm);
        this.num(c.maxPriceTicks);
        this.num(c.maxQuantityLots);
        break;
      case 'HaltMarket':
      case 'ResumeMarket':
        this.num(c.marketId);
        break;
      case 'Deposit':
      case 'AdminAdjust':
        this.num(c.userId);
        this.num(c.assetId);
        this.big(c.amountUnits);
        break;
      case 'WithdrawHold':
        this.num(c.userId);
        this.num(c.assetId);
        this.num(c.withdrawalId);
        this.big(c.amountUnits);
        break;
      case 'WithdrawSettle':
      case 'WithdrawRelease':
        this.num(c.withdrawalId);
        break;
      case 'PlaceOrder':
        this.num(c.userId);
        this.num(c.marketId);
        this.u8(c.side === 'BUY' ? 0 : 1);
        this.u8(ORDER_TYPES.indexOf(c.orderType));
        this.u8(TIFS.indexOf(c.timeInForce));
        this.optNum(c.priceTicks);
        this.optNum(c.stopPriceTicks);
        this.optNum(c.quantityLots);
        this.optBig(c.quoteBudgetUnits);
        this.u8(c.postOnly ? 1 : 0);
        this.u8(STPS.indexOf(c.selfTradePrevention));
        this.optStr(c.clientOrderId);
        break;
      case 'CancelOrder':
        this.num(c.userId);
        this.num(c.orderId);
        break;
      case 'CancelAll':
        this.num(c.userId);
        this.optNum(c.marketId);
        break;
      case 'AmendOrder':
        this.num(c.userId);
        this.num(c.orderId);
        this.optNum(c.priceTicks);
        this.optNum(c.quantityLots);
        break;
    }
    const length = this.offset - payloadStart;
    this.view.setUint32(start, length, true);
    this.view.setUint32(start + 4, crc32(this.buffer, payloadStart, this.offset), true);
  }
}

class Reader {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  offset: number;
  constructor(bytes: Uint8Array, offset: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }
  u8(): number {
    return this.view.getUint8(this.offset++);
  }
  num(): number {
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }
  optNum(): number | null {
    return this.u8() === 0 ? null : this.num();
  }
  big(): bigint {
    const negative = this.u8() === 1;
    const words = this.u8();
    let v = 0n;
    for (let i = 0; i < words; i += 1) {
      v |= this.view.getBigUint64(this.offset, true) << BigInt(64 * i);
      this.offset += 8;
    }
    return negative ? -v : v;
  }
  optBig(): bigint | null {
    return this.u8() === 0 ? null : this.big();
  }
  str(): string {
    const length = this.view.getUint16(this.offset, true);
    this.offset += 2;
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offset, length).toString('utf8');
    this.offset += length;
    return s;
  }
  optStr(): string | null {
    return this.u8() === 0 ? null : this.str();
  }
}

/** Decodes one payload (without its frame). */
export function decodeCommand(bytes: Uint8Array, start: number, end: number): Command {
  const r = new Reader(bytes, start);
  const type = TYPES[r.u8()];
  const seq = r.num();
  const timeMs = r.num();
  let c: Command;
  switch (type) {
    case 'AddAsset':
      c = { type, seq, timeMs, assetId: r.num(), symbol: r.str(), decimals: r.num() };
      break;
    case 'AddMarket':
      c = {
        type,
        seq,
        timeMs,
        marketId: r.num(),
        symbol: r.str(),
        baseAssetId: r.num(),
        quoteAssetId: r.num(),
        tickSizeQuoteUnits: r.big(),
        lotSizeBaseUnits: r.big(),
        minNotionalQuoteUnits: r.big(),
        makerFeePpm: r.num(),
        takerFeePpm: r.num(),
        maxPriceTicks: r.num(),
        maxQuantityLots: r.num(),
      };
      break;
    case 'HaltMarket':
    case 'ResumeMarket':
      c = { type, seq, timeMs, marketId: r.num() };
      break;
    case 'Deposit':
    case 'AdminAdjust':
      c = { type, seq, timeMs, userId: r.num(), assetId: r.num(), amountUnits: r.big() };
      break;
    case 'WithdrawHold':
      c = {
        type,
        seq,
        timeMs,
        userId: r.num(),
        assetId: r.num(),
        withdrawalId: r.num(),
        amountUnits: r.big(),
      };
      break;
    case 'WithdrawSettle':
    case 'WithdrawRelease':
      c = { type, seq, timeMs, withdrawalId: r.num() };
      break;
    case 'PlaceOrder':
      c = {
        type,
        seq,
        timeMs,
        userId: r.num(),
        marketId: r.num(),
        side: SIDES[r.u8()]!,
        orderType: ORDER_TYPES[r.u8()]!,
        timeInForce: TIFS[r.u8()]!,
        priceTicks: r.optNum(),
        stopPriceTicks: r.optNum(),
        quantityLots: r.optNum(),
        quoteBudgetUnits: r.optBig(),
        postOnly: r.u8() === 1,
        selfTradePrevention: STPS[r.u8()]!,
        clientOrderId: r.optStr(),
      };
      break;
    case 'CancelOrder':
      c = { type, seq, timeMs, userId: r.num(), orderId: r.num() };
      break;
    case 'CancelAll':
      c = { type, seq, timeMs, userId: r.num(), marketId: r.optNum() };
      break;
    case 'AmendOrder':
      c = {
        type,
        seq,
        timeMs,
        userId: r.num(),
        orderId: r.num(),
        priceTicks: r.optNum(),
        quantityLots: r.optNum(),
      };
      break;
    default:
      throw new Error('journal: unknown command type code');
  }
  if (r.offset !== end) throw new Error('journal: record length does not match its payload');
  return c;
}

export interface ScanResult {
  readonly commands: Command[];
  /** Bytes of complete, verified records. */
  readonly validBytes: number;
  /** True when bytes after `validBytes` exist but do not form a valid record (a torn tail). */
  readonly torn: boolean;
}

/** Reads every valid record of a journal segment; stops at the first torn or corrupt one. */
export function scanRecords(bytes: Uint8Array, onCommand?: (c: Command) => void): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const commands: Command[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < RECORD_HEADER_BYTES) break;
    const length = view.getUint32(offset, true);
    const checksum = view.getUint32(offset + 4, true);
    const start = offset + RECORD_HEADER_BYTES;
    const end = start + length;
    if (length === 0 || length > MAX_RECORD_BYTES || end > bytes.length) break;
    if (crc32(bytes, start, end) !== checksum) break;
    const command = decodeCommand(bytes, start, end);
    if (onCommand === undefined) commands.push(command);
    else onCommand(command);
    offset = end;
  }
  return { commands, validBytes: offset, torn: offset < bytes.length };
}
