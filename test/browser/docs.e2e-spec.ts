import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { DIFY_ROUTES } from '../../src/dify/dify.routes.js';
import { browserUnavailable, launchChromium } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/test-gateway.js';

const skipReason = browserUnavailable();
if (skipReason) process.stdout.write(`docs browser suite skipped: ${skipReason}\n`);
const describeInBrowser = skipReason ? describe.skip : describe;

/** Swagger UI at /docs in a real Chromium: it renders every operation, asks only its own origin, and breaks no CSP rule. */
describeInBrowser('API docs in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    gw = await startTestGateway();
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('renders the document from this gateway alone, without a CSP violation', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${gw.origin}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    const operations = await page.locator('.opblock').count();
    // The /v1 rows and the gateway's own routes (health, metrics, admin, audit, console, docs).
    expect(operations).toBeGreaterThan(DIFY_ROUTES.length);
    expect(await page.locator('.opblock-summary-path', { hasText: '/v1/chat-messages' }).count()).toBeGreaterThanOrEqual(1);
    // Chromium reports each CSP refusal ("Refused to load / execute / apply ...") as a console error.
    expect(problems).toEqual([]);
    expect(requested.filter((u) => !u.startsWith(gw.origin) && !u.startsWith('data:'))).toEqual([]);
    await page.close();
  }, 60_000);
});
