/**
 * GraphQL over HTTP conformance: the `graphql-http` package's server audits against the running
 * gateway. Any MUST failure fails the test; SHOULD and MAY results are printed for the record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverAudits, type AuditResult } from 'graphql-http';
import { startTestPlatform, type TestPlatform } from '../test/harness.ts';

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.close();
});

describe('GraphQL over HTTP (graphql-http server audits)', () => {
  it('passes every MUST audit', async () => {
    const audits = serverAudits({ url: platform.gateway.url });
    const results: AuditResult[] = [];
    for (const audit of audits) results.push(await audit.fn());

    const levelOf = (result: AuditResult) => result.name.split(' ')[0] as 'MUST' | 'SHOULD' | 'MAY';
    const summary: Record<string, { ok: number; failed: number }> = {};
    for (const result of results) {
      const level = (summary[levelOf(result)] ??= { ok: 0, failed: 0 });
      if (result.status === 'ok') level.ok++;
      else level.failed++;
    }
    const lines = results
      .filter((result) => result.status !== 'ok')
      .map(
        (result) =>
          `  ${result.status.padEnd(6)} ${result.id} ${result.name}${'reason' in result ? `: ${result.reason}` : ''}`,
      );
    console.log(
      `graphql-http audits: ${results.length} run; ` +
        Object.entries(summary)
          .map(([level, { ok, failed }]) => `${level} ${ok} ok / ${failed} failed`)
          .join(', ') +
        (lines.length > 0 ? `\n${lines.join('\n')}` : ''),
    );

    expect(results.length).toBeGreaterThan(30);
    const mustFailures = results.filter((result) => levelOf(result) === 'MUST' && result.status !== 'ok');
    expect(mustFailures.map((result) => `${result.id} ${result.name}`)).toEqual([]);
  });
});
