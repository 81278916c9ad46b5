/**
 * GraphiQL at GET /graphql (for browsers), served entirely from local files: the graphiql UMD
 * bundle and the React 18 UMD builds from node_modules plus our own page, boot script and CSS. No
 * CDN, no network: the page works offline and its Content-Security-Policy only allows this origin.
 *
 * Asset URLs contain a content hash, so they are cached for a year (`immutable`); the page itself is
 * revalidated every time.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** URL prefix of the assets, relative to the page (served at /graphql, so /graphiql/assets/...). */
export const graphiqlAssetsPrefix = '/graphiql/assets/';

const javascript = 'text/javascript; charset=utf-8';
const css = 'text/css; charset=utf-8';

interface AssetSource {
  readonly name: string;
  readonly contentType: string;
  /** Absolute path of the file. */
  readonly file: () => string;
}

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
/** react and react-dom do not export their `umd/` folders, so resolve the package root instead. */
const packageFile = (pkg: string, file: string) => () =>
  path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);

/** In load order. graphiql 3.8 expects the `React` and `ReactDOM` globals of the UMD builds. */
const assetSources: readonly AssetSource[] = [
  { name: 'graphiql.min.css', contentType: css, file: () => require.resolve('graphiql/graphiql.min.css') },
  { name: 'page.css', contentType: css, file: () => path.join(here, 'page.css') },
  {
    name: 'react.production.min.js',
    contentType: javascript,
    file: packageFile('react', 'umd/react.production.min.js'),
  },
  {
    name: 'react-dom.production.min.js',
    contentType: javascript,
    file: packageFile('react-dom', 'umd/react-dom.production.min.js'),
  },
  {
    name: 'graphiql.min.js',
    contentType: javascript,
    file: () => require.resolve('graphiql/graphiql.min.js'),
  },
  { name: 'boot.js', contentType: javascript, file: () => path.join(here, 'boot.js') },
];

export interface StaticAsset {
  readonly name: string;
  /** Path under the assets prefix: `<hash>/<name>`. */
  readonly key: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly gzipped: Buffer;
  readonly etag: string;
}

/**
 * Content-Security-Policy of the page: scripts, styles, fonts and fetches only from this origin.
 * Styles also allow inline: GraphiQL's dialogs inject a `<style>` element at run time
 * (react-remove-scroll). Fonts are `data:` URIs inside graphiql.min.css.
 */
export const graphiqlContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function renderPage(assets: readonly StaticAsset[]): string {
  // Relative URLs: the page is served at .../graphql, so the assets resolve beside it even behind a
  // reverse proxy that mounts the gateway under a path prefix.
  const href = (asset: StaticAsset) => escapeHtml(`.${graphiqlAssetsPrefix}${asset.key}`);
  const styles = assets
    .filter((a) => a.contentType === css)
    .map((a) => `    <link rel="stylesheet" href="${href(a)}" />`);
  const scripts = assets
    .filter((a) => a.contentType === javascript)
    .map((a) => `    <script src="${href(a)}"></script>`);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '  <head>',
    '    <meta charset="utf-8" />',
    '    <meta name="viewport" content="width=device-width, initial-scale=1" />',
    '    <title>GraphEx · GraphiQL</title>',
    '    <link rel="icon" href="data:," />',
    ...styles,
    '  </head>',
    '  <body>',
    '    <div id="graphiql">Loading GraphiQL…</div>',
    '    <noscript>GraphiQL needs JavaScript. The API itself answers POST /graphql.</noscript>',
    ...scripts,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

export interface GraphiqlBundle {
  readonly page: { readonly html: Buffer; readonly gzipped: Buffer; readonly etag: string };
  readonly assets: ReadonlyMap<string, StaticAsset>;
}

async function loadAsset(source: AssetSource): Promise<StaticAsset> {
  const body = await readFile(source.file());
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return {
    name: source.name,
    key: `${hash}/${source.name}`,
    contentType: source.contentType,
    body,
    gzipped: await gzipAsync(body),
    etag: `"${hash}"`,
  };
}

/** Reads, hashes and compresses every asset (about 4 MB, once per process). */
export async function loadGraphiqlBundle(): Promise<GraphiqlBundle> {
  const assets = await Promise.all(assetSources.map(loadAsset));
  const html = Buffer.from(renderPage(assets));
  return {
    page: {
      html,
      gzipped: await gzipAsync(html),
      etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 16)}"`,
    },
    assets: new Map(assets.map((asset) => [asset.key, asset])),
  };
}

function acceptsGzip(request: IncomingMessage): boolean {
  const header = request.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((coding) => {
    const [name = '', ...parameters] = coding.split(';').map((piece) => piece.trim().toLowerCase());
    const quality = parameters.find((parameter) => parameter.startsWith('q='));
    return name === 'gzip' && (quality === undefined || Number(quality.slice(2)) > 0);
  });
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  content: {
    readonly body: Buffer;
    readonly gzipped: Buffer;
    readonly etag: string;
    readonly contentType: string;
  },
  headers: Record<string, string>,
): void {
  response.setHeader('content-type', content.contentType);
  response.setHeader('etag', content.etag);
  response.setHeader('vary', 'accept-encoding');
  response.setHeader('x-content-type-options', 'nosniff');
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  if (request.headers['if-none-match'] === content.etag) {
    response.writeHead(304).end();
    return;
  }
  const gzipped = acceptsGzip(request);
  const body = gzipped ? content.gzipped : content.body;
  if (gzipped) response.setHeader('content-encoding', 'gzip');
  response.writeHead(200, { 'content-length': body.length });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** Serves GraphiQL's page and assets; the bundle is loaded on first use, not at gateway start. */
export function createGraphiqlServer(): {
  servePage(request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Serves `/graphiql/assets/<hash>/<name>`; false when no such asset exists. */
  serveAsset(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<boolean>;
} {
  let bundle: Promise<GraphiqlBundle> | undefined;
  const load = (): Promise<GraphiqlBundle> => {
    bundle ??= loadGraphiqlBundle();
    // A failed load (a file missing after a broken install) is retried on the next request.
    bundle.catch(() => (bundle = undefined));
    return bundle;
  };
  return {
    async servePage(request, response) {
      const { page } = await load();
      send(
        request,
        response,
        { body: page.html, gzipped: page.gzipped, etag: page.etag, contentType: 'text/html; charset=utf-8' },
        {
          'cache-control': 'no-cache',
          'content-security-policy': graphiqlContentSecurityPolicy,
          'referrer-policy': 'no-referrer',
          'x-frame-options': 'DENY',
        },
      );
    },
    async serveAsset(request, response, pathname) {
      const asset = (await load()).assets.get(pathname.slice(graphiqlAssetsPrefix.length));
      if (!asset) return false;
      send(request, response, asset, { 'cache-control': 'public, max-age=31536000, immutable' });
      return true;
    },
  };
}
