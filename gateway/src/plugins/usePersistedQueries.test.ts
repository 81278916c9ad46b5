import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryKeyValueStore } from '@graphex/runtime';
import { apqCache, loadTrustedDocuments } from './usePersistedQueries.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function manifestFile(entries: Record<string, string>): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'manifest-')), 'persisted-operations.json');
  writeFileSync(file, JSON.stringify(entries));
  return file;
}

describe('trusted documents and the APQ cache', () => {
  const trustedText = 'query Markets { markets { symbol } }';

  it('loads the committed manifest and refuses an entry that does not hash to its key', () => {
    expect(loadTrustedDocuments().size).toBeGreaterThan(0);
    expect(() => loadTrustedDocuments(manifestFile({ [`sha256:${'0'.repeat(64)}`]: trustedText }))).toThrow(
      /does not hash/,
    );
  });

  it('serves manifest documents first, stores registrations in the store, never overwrites the manifest', async () => {
    const trusted = loadTrustedDocuments(manifestFile({ [`sha256:${sha256(trustedText)}`]: trustedText }));
    const store = createMemoryKeyValueStore();
    const cache = apqCache(store, trusted);
    expect(await cache.get(`apq:${sha256(trustedText)}`)).toBe(trustedText);
    await cache.set(`apq:${sha256(trustedText)}`, '{ evil }', { ttl: 60 });
    expect(await cache.get(`apq:${sha256(trustedText)}`)).toBe(trustedText);
    const adHoc = '{ assets { symbol } }';
    expect(await cache.get(`apq:${sha256(adHoc)}`)).toBeUndefined();
    await cache.set(`apq:${sha256(adHoc)}`, adHoc, { ttl: 60 });
    expect(await cache.get(`apq:${sha256(adHoc)}`)).toBe(adHoc);
    expect(await store.get(`apq:${sha256(adHoc)}`)).toBe(adHoc);
    await cache.delete(`apq:${sha256(adHoc)}`);
    expect(await cache.get(`apq:${sha256(adHoc)}`)).toBeUndefined();
    expect(await cache.get('apq:not-a-hash')).toBeUndefined();
  });
});
