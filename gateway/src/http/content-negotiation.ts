/**
 * `Accept` header negotiation (RFC 9110 §12.5.1), just enough to decide whether a GET /graphql is a
 * browser asking for a page (serve GraphiQL) or a client asking for a GraphQL response.
 */

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly quality: number;
}

/** At most this many media ranges are considered (a limit on everything, even headers). */
const maxMediaRanges = 32;

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',').slice(0, maxMediaRanges)) {
    const [mediaType = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const [type, subtype] = mediaType.split('/');
    if (!type || !subtype) continue;
    let quality = 1;
    for (const parameter of parameters) {
      const match = /^q\s*=\s*([01](?:\.\d{0,3})?)$/.exec(parameter);
      if (match) quality = Math.min(1, Number(match[1]));
    }
    ranges.push({ type, subtype, quality });
  }
  return ranges;
}

/** Quality the client gives `type/subtype`: the most specific matching range wins (exact > type/* > *\/*). */
function qualityOf(ranges: readonly MediaRange[], type: string, subtype: string): number {
  let best: { specificity: number; quality: number } | undefined;
  for (const range of ranges) {
    let specificity: number;
    if (range.type === type && range.subtype === subtype) specificity = 2;
    else if (range.type === type && range.subtype === '*') specificity = 1;
    else if (range.type === '*' && range.subtype === '*') specificity = 0;
    else continue;
    if (!best || specificity > best.specificity) best = { specificity, quality: range.quality };
  }
  return best?.quality ?? 0;
}

/**
 * True when the client prefers an HTML page over any GraphQL response type. Ties go to GraphQL, so
 * `Accept: *\/*` (curl, most HTTP clients) and a missing header get the API, and a browser navigation
 * (`text/html,...,*\/*;q=0.8`) gets GraphiQL.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = parseAccept(accept);
  const html = qualityOf(ranges, 'text', 'html');
  const graphql = Math.max(
    qualityOf(ranges, 'application', 'graphql-response+json'),
    qualityOf(ranges, 'application', 'json'),
  );
  return html > 0 && html > graphql;
}
