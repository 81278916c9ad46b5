import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthUrlOf } from './health.ts';
import { readSupergraphSdl, subgraphsOfSupergraph } from './supergraph.ts';

describe('subgraphsOfSupergraph', () => {
  it('refuses a schema that is not a supergraph', () => {
    expect(() => subgraphsOfSupergraph('type Query { a: String }')).toThrow(/names no subgraphs/);
    expect(() => subgraphsOfSupergraph('enum join__Graph { A @join__graph(name: "a") }')).toThrow(
      /join__Graph\.A/,
    );
  });
});

describe('readSupergraphSdl', () => {
  it('says how to produce a missing supergraph file', async () => {
    const missing = path.join(mkdtempSync(path.join(tmpdir(), 'graphex-')), 'supergraph.graphql');
    await expect(readSupergraphSdl(missing)).rejects.toThrow(/missing: run `npm run compose` first/);
  });
});

describe('healthUrlOf', () => {
  it('is the sibling /health of the GraphQL endpoint, also under a prefix', () => {
    expect(healthUrlOf('http://127.0.0.1:4001/graphql')).toBe('http://127.0.0.1:4001/health');
    expect(healthUrlOf('https://internal.example/identity/graphql')).toBe(
      'https://internal.example/identity/health',
    );
  });
});
