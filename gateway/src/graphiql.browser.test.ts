/**
 * GraphiQL in a real browser, offline: headless Chromium opens GET /graphql on the gateway, every
 * request to anywhere but the gateway is aborted and recorded (there must be none), GraphiQL
 * renders, a query typed into the editor runs with the run button, and the result pane shows data
 * from both test subgraphs.
 *
 * Skips only when Chromium is not installed AND this is not CI (`CI` set): in CI it must run.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startTestPlatform, type TestPlatform } from '../test/harness.ts';

const chromiumPath = '/usr/bin/chromium';
const skip = !existsSync(chromiumPath) && !process.env['CI'];
const screenshotPath = '/tmp/graphex-graphiql.png';

describe.skipIf(skip)('GraphiQL in headless Chromium, with no network', () => {
  let platform: TestPlatform;
  let browser: Browser;

  beforeAll(async () => {
    platform = await startTestPlatform();
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.close();
  });

  it('loads from local assets only, runs a typed query and shows the result', async () => {
    const gatewayOrigin = new URL(platform.gateway.url).origin;
    const context = await browser.newContext();
    const blocked: string[] = [];
    const served: string[] = [];
    await context.route('**/*', async (route) => {
      const requestUrl = route.request().url();
      if (new URL(requestUrl).origin === gatewayOrigin) {
        served.push(`${route.request().method()} ${new URL(requestUrl).pathname}`);
        await route.continue();
      } else {
        blocked.push(requestUrl);
        await route.abort('blockedbyclient');
      }
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });

    // GraphiQL introspects the schema as soon as it starts; completion and docs depend on it.
    const introspection = page.waitForResponse(
      (candidate) =>
        candidate.request().method() === 'POST' &&
        candidate.request().postData()?.includes('__schema') === true,
    );
    const response = await page.goto(platform.gateway.url);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");

    const editor = page.locator('.graphiql-query-editor .CodeMirror');
    await editor.waitFor({ state: 'visible', timeout: 30_000 });
    expect((await introspection).status()).toBe(200);

    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // CodeMirror closes brackets: typing "{" gives "{}" and the final "}" types over the closer.
    await page.keyboard.type('{ greeting ordersGreeting }', { delay: 10 });
    await page.keyboard.press('Escape');
    const typed = await page.evaluate(() => {
      const element = document.querySelector('.graphiql-query-editor .CodeMirror') as
        (Element & { CodeMirror?: { getValue(): string } }) | null;
      return element?.CodeMirror?.getValue();
    });
    expect(typed?.replace(/\s+/g, ' ').trim()).toBe('{ greeting ordersGreeting }');

    // GraphiQL derives the operation to run from the editor after a debounce and then saves the tab
    // to localStorage: wait for that save, or a click can still send the default query's name.
    await expect
      .poll(() => page.evaluate(() => localStorage.getItem('graphiql:tabState') ?? ''), { timeout: 10_000 })
      .toContain('{ greeting ordersGreeting }');
    await page.locator('button.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response .CodeMirror');
    await expect
      .poll(async () => (await result.textContent()) ?? '', { timeout: 30_000 })
      .toContain('hello from orders');
    const resultText = (await result.textContent()) ?? '';
    expect(resultText).toContain('"greeting": "hello from accounts"');
    expect(resultText).toContain('"ordersGreeting": "hello from orders"');

    await page.screenshot({ path: screenshotPath, fullPage: true });
    await context.close();

    expect(blocked).toEqual([]);
    expect(problems).toEqual([]);
    // Everything came from the gateway: the page, its hashed assets and the GraphQL requests.
    expect(served).toContain('GET /graphql');
    expect(served.filter((entry) => entry.startsWith('GET /graphiql/assets/')).length).toBeGreaterThanOrEqual(
      5,
    );
    expect(served.filter((entry) => entry === 'POST /graphql').length).toBeGreaterThanOrEqual(2);
  });
});
