import { describe, expect, it } from 'vitest';
import { prefersHtml } from './content-negotiation.ts';
import { legacyJsonStatus } from './legacy-json-status.ts';

describe('prefersHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', true], // Chrome
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true], // Firefox
    ['text/html', true],
    ['text/*', true],
    ['application/json, text/html;q=0.9', false],
    ['application/graphql-response+json, application/json', false], // graphql-http, GraphQL clients
    ['*/*', false], // curl: a tie goes to the API
    ['text/html;q=0', false],
    ['text/html;q=0.5, */*;q=0.5', false],
    ['', false],
    ['garbage', false],
  ])('%s → %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });

  it('treats a missing header as an API client', () => {
    expect(prefersHtml(undefined)).toBe(false);
  });
});

describe('legacyJsonStatus', () => {
  const body = (codes: string[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({ errors: codes.map((code) => ({ message: 'x', extensions: { code } })), ...extra });

  it('turns request errors in application/json into 200', () => {
    expect(legacyJsonStatus(400, 'application/json; charset=utf-8', body(['GRAPHQL_PARSE_FAILED']))).toBe(
      200,
    );
    expect(
      legacyJsonStatus(
        400,
        'application/json',
        body(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']),
      ),
    ).toBe(200);
    expect(legacyJsonStatus(400, 'application/json', body(['BAD_USER_INPUT']))).toBe(200);
  });

  it('leaves everything else alone', () => {
    expect(legacyJsonStatus(400, 'application/graphql-response+json', body(['GRAPHQL_PARSE_FAILED']))).toBe(
      400,
    );
    expect(legacyJsonStatus(400, 'application/json', body(['BAD_REQUEST']))).toBe(400);
    expect(legacyJsonStatus(400, 'application/json', body(['GRAPHQL_PARSE_FAILED', 'BAD_REQUEST']))).toBe(
      400,
    );
    expect(legacyJsonStatus(400, 'application/json', body(['BAD_USER_INPUT'], { data: null }))).toBe(400);
    expect(legacyJsonStatus(401, 'application/json', body(['UNAUTHENTICATED']))).toBe(401);
    expect(legacyJsonStatus(400, 'application/json', 'not json')).toBe(400);
    expect(legacyJsonStatus(400, undefined, body(['GRAPHQL_PARSE_FAILED']))).toBe(400);
    expect(legacyJsonStatus(200, 'application/json', body(['GRAPHQL_PARSE_FAILED']))).toBe(200);
  });
});
