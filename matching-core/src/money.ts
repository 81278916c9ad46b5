/**
 * Exact money math of one market. No float ever holds money: prices are integer ticks, quantities
 * integer lots, amounts bigint base units.
 *
 * One tick × one lot is worth `tickSizeQuoteUnits × lotSizeBaseUnits / 10^baseDecimals` quote base
 * units — a rational number N/D (BTC-USDT: 10_000 × 1_000 / 10^8 = 1/10 micro-USDT, so the quote
 * amount of a trade can be a fraction of a base unit). Rounding policy (exact conservation):
 *
 * - Trade quote amount: floor(p·q·N/D). The buyer pays exactly that and the seller receives exactly
 *   that, so no unit is created or lost.
 * - Buy hold: ceil(p·q·N/D) at the order's limit price. Because Σ floor(fills) ≤ floor(Σ fills) and
 *   makers never fill above the taker's limit, the hold always covers what remains
 *   (ceil(x) − floor(y) ≥ ceil(x − y)); after every fill a resting buy's hold is normalised back to
 *   exactly ceil(p·remaining·N/D) and the excess (price improvement, rounding) is released.
 * - Fees: ceil(received × ppm / 10^6) in the asset each side receives — rounded in the exchange's
 *   favour, never more than received (ppm ≤ 10^6), taken out of what the side receives.
 *
 * Fast path: when p·q·N stays below 2^53 the product is computed with exact integer doubles and
 * divided with an exact remainder; otherwise bigint. Both paths are tested to agree.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const PPM = 1_000_000n;

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export class MarketMath {
  /** Numerator of quote units per tick·lot, reduced. */
  readonly quoteNum: bigint;
  /** Denominator of quote units per tick·lot, reduced. */
  readonly quoteDen: bigint;
  readonly lotSizeBaseUnits: bigint;
  // Number copies when they are small enough for the exact double fast path (0 = unusable).
  readonly #numN: number;
  readonly #denN: number;
  /** Largest p·q for which p·q·N is still an exact double. */
  readonly #maxProductForFastPath: number;
  readonly #lotN: number;
  /** Largest q for which q × lot is still an exact double (0 when the lot itself is too big). */
  readonly #maxLotsForFastPath: number;

  readonly minNotionalQuoteUnits: bigint;
  /** minNotional as a number, or -1 when it does not fit a double exactly. */
  readonly #minNotionalN: number;

  constructor(
    tickSizeQuoteUnits: bigint,
    lotSizeBaseUnits: bigint,
    baseDecimals: number,
    minNotionalQuoteUnits = 0n,
  ) {
    if (tickSizeQuoteUnits <= 0n || lotSizeBaseUnits <= 0n)
      throw new Error('tick and lot sizes must be positive');
    const n = tickSizeQuoteUnits * lotSizeBaseUnits;
    const d = 10n ** BigInt(baseDecimals);
    const g = gcd(n, d);
    this.quoteNum = n / g;
    this.quoteDen = d / g;
    this.lotSizeBaseUnits = lotSizeBaseUnits;
    this.minNotionalQuoteUnits = minNotionalQuoteUnits;
    this.#minNotionalN = minNotionalQuoteUnits <= BigInt(MAX_SAFE) ? Number(minNotionalQuoteUnits) : -1;
    const fits = this.quoteNum <= BigInt(MAX_SAFE) && this.quoteDen <= BigInt(MAX_SAFE);
    this.#numN = fits ? Number(this.quoteNum) : 0;
    this.#denN = fits ? Number(this.quoteDen) : 0;
    this.#maxProductForFastPath = fits ? Math.floor(MAX_SAFE / this.#numN) : 0;
    const lotFits = lotSizeBaseUnits <= BigInt(MAX_SAFE);
    this.#lotN = lotFits ? Number(lotSizeBaseUnits) : 0;
    this.#maxLotsForFastPath = lotFits ? Math.floor(MAX_SAFE / this.#lotN) : 0;
  }

  /** floor(p·q·N/D): what a trade of q lots at p ticks pays, in quote base units. */
  notionalFloor(priceTicks: number, quantityLots: number): bigint {
    const product = priceTicks * quantityLots;
    if (product <= this.#maxProductForFastPath) {
      const x = product * this.#numN;
      const r = x % this.#denN;
      return BigInt((x - r) / this.#denN);
    }
    return (BigInt(priceTicks) * BigInt(quantityLots) * this.quoteNum) / this.quoteDen;
  }

  /** floor(p·q·N/D) < minNotional, without allocating on the fast path. */
  belowMinNotional(priceTicks: number, quantityLots: number): boolean {
    const product = priceTicks * quantityLots;
    if (product <= this.#maxProductForFastPath && this.#minNotionalN >= 0) {
      const x = product * this.#numN;
      return (x - (x % this.#denN)) / this.#denN < this.#minNotionalN;
    }
    return this.notionalFloor(priceTicks, quantityLots) < this.minNotionalQuoteUnits;
  }

  /** ceil(p·q·N/D): what a buy of q lots at limit p ticks holds, in quote base units. */
  notionalCeil(priceTicks: number, quantityLots: number): bigint {
    const product = priceTicks * quantityLots;
    if (product <= this.#maxProductForFastPath) {
      const x = product * this.#numN;
      const r = x % this.#denN;
      return BigInt((x - r) / this.#denN + (r > 0 ? 1 : 0));
    }
    const x = BigInt(priceTicks) * BigInt(quantityLots) * this.quoteNum;
    return (x + this.quoteDen - 1n) / this.quoteDen;
  }

  /** Base units of q lots. */
  baseUnits(quantityLots: number): bigint {
    if (quantityLots <= this.#maxLotsForFastPath) return BigInt(quantityLots * this.#lotN);
    return BigInt(quantityLots) * this.lotSizeBaseUnits;
  }

  /** Largest q with floor(p·q·N/D) ≤ budget, i.e. p·q·N < (budget+1)·D. */
  affordableLots(budgetUnits: bigint, priceTicks: number): number {
    if (budgetUnits < 0n) return 0;
    const perLot = BigInt(priceTicks) * this.quoteNum;
    const q = ((budgetUnits + 1n) * this.quoteDen - 1n) / perLot;
    return q > BigInt(MAX_SAFE) ? MAX_SAFE : Number(q);
  }
}

/** ceil(amount × ppm / 10^6): a fee rounded in the exchange's favour. */
export function feeUnits(amountUnits: bigint, feePpm: bigint): bigint {
  if (feePpm === 0n) return 0n;
  return (amountUnits * feePpm + PPM - 1n) / PPM;
}
