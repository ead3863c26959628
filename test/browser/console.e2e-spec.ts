import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AuditMaintenance } from '../../src/audit/write/audit-maintenance.js';
import { auditSettled, chatBody, postV1, startAuditGateway, waitFor } from '../support/audit-gateway.js';
import { browserUnavailable, launchChromium } from '../support/browser.js';
import { BUILD_SETUP_TIMEOUT_MS } from '../support/build.js';
import { buildConsole } from '../support/console-build.js';
import type { TestGateway } from '../support/test-gateway.js';

const ARTIFACTS = path.resolve('test-artifacts', 'console');
/** Two events each: 56 rows, a full page of 50 and one of 6. */
const PAGED_CALLS = 28;
const skipReason = browserUnavailable();
if (skipReason) process.stdout.write(`console browser suite skipped: ${skipReason}\n`);
const describeInBrowser = skipReason ? describe.skip : describe;

/**
 * The compliance console in a real Chromium against a real gateway (Postgres, the Dify
 * simulator): one session from sign-in to sign-out, by keyboard where a person would type.
 */
describeInBrowser('compliance console in Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let auditorKey: string;
  let bobConversation: string;
  const pageProblems: string[] = [];
  const requestedUrls: string[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildConsole();
    // The sequencer seals only when the test says so (auditSettled), so the page shows unsealed events too.
    gw = await startAuditGateway({ db: 'postgres', env: { AUDIT_SEAL_INTERVAL_MS: '60000' } });
    const team = await gw.createKey(['chat', 'conversations'], 'team-support');
    auditorKey = (await gw.createKey(['audit:read'], 'compliance')).key;
    await postV1(gw, team.key, '/chat-messages', chatBody({ user: 'alice' }), 'ui-alice-1');
    const bob = await postV1(gw, team.key, '/chat-messages', chatBody({ user: 'bob' }), 'ui-bob-1');
    bobConversation = bob.body.conversation_id as string;
    gw.sim.addFault({ kind: 'status', status: 400, code: 'invalid_param', match: { path: '/chat-messages' } });
    await postV1(gw, team.key, '/chat-messages', chatBody({ user: 'alice' }), 'ui-alice-400');
    gw.sim.clearFaults();
    // More than a page (50 rows) for one end user, from another team.
    const bulk = await gw.createKey(['chat'], 'team-bulk');
    for (let i = 0; i < PAGED_CALLS; i++) await postV1(gw, bulk.key, '/chat-messages', chatBody({ user: 'carol' }), `ui-carol-${i}`);
    await auditSettled(gw);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && pageProblems.push(m.text()));
    page.on('pageerror', (e) => pageProblems.push(e.message));
    page.on('request', (r) => requestedUrls.push(r.url()));
  }, BUILD_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('refuses a wrong key, then signs in with an audit:read key by keyboard (Enter submits)', async () => {
    const res = await page.goto(`${gw.origin}/console`);
    expect(res?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    const key = page.getByLabel('API key');
    await expect(page.evaluate('document.activeElement?.name')).resolves.toBe('key');
    await key.fill('gw-not-a-real-key');
    await key.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();

    await key.fill(auditorKey);
    await key.press('Enter');
    await page.getByText(`Signed in with key …${auditorKey.slice(-4)}`).waitFor();
    await page.locator('.event-table tbody tr').first().waitFor();
    const types = await page.locator('.event-table tbody tr td:nth-child(3)').allTextContents();
    expect(types).toEqual(expect.arrayContaining(['call.started', 'call.finished']));
    await shot('01-events');
  });

  it('filters by end user (Enter in the field applies the filter)', async () => {
    const user = page.getByLabel('End user');
    await user.fill('bob');
    await user.press('Enter');
    await waitFor(
      async () => (await page.locator('.event-table tbody tr td:nth-child(7)').allTextContents()).every((u) => u === 'bob') || undefined,
      10_000,
      'only bob',
    );
    const rows = page.locator('.event-table tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await page.locator('.event-table tbody tr td:nth-child(3)').allTextContents()).toEqual(['call.finished', 'call.started']);
    await shot('02-filtered');
  });

  it('opens the call: ids Dify returned, usage, attempts and each event in the chain', async () => {
    const opener = page.getByRole('button', { name: /^Open call / }).first();
    const openerLabel = await opener.getAttribute('aria-label');
    await opener.click();
    const view = page.locator('section.call');
    await view.getByText(bobConversation).waitFor();
    const text = await view.innerText();
    expect(text).toContain('Call ');
    expect(text).toMatch(/Outcome\s+success/);
    expect(text).toMatch(/Attempts\s+1/);
    expect(text).toMatch(/Tokens\s+\d+/);
    expect(text).toContain('ui-bob-1');
    expect(await view.locator('table.chain tbody tr').count()).toBe(2);
    // The heading takes focus (keyboard users land in the view); Escape closes it.
    await expect(page.evaluate('document.activeElement?.id')).resolves.toBe('call-heading');
    await shot('03-call');
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached' });
    // Focus returns to the opener. A locator wait, not waitForFunction: a string predicate is
    // evaluated with eval in the page, which the console's CSP (rightly) refuses.
    await page.locator(`button[aria-label=${JSON.stringify(openerLabel)}]:focus`).waitFor({ timeout: 5_000 });
  });

  it('exports the current filter as CSV (a download, fetched with the key header)', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^audit-.*\.csv$/);
    const file = path.join(ARTIFACTS, 'export.csv');
    await download.saveAs(file);
    const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
    expect(lines[0].split(',')).toEqual(expect.arrayContaining(['seq', 'id', 'type', 'end_user', 'hash']));
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(1)) expect(line).toContain('bob');

    const [ndjson] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export NDJSON' }).click()]);
    const events = readFileSync((await ndjson.path())!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { end_user: string });
    expect(events.map((e) => e.end_user)).toEqual(['bob', 'bob']);
  });

  it('pages older and newer with the cursor, newest first, nothing skipped or repeated', async () => {
    const user = page.getByLabel('End user');
    await user.fill('carol');
    await user.press('Enter');
    const seqs = () => page.locator('.event-table tbody tr td:first-child').allTextContents();
    await waitFor(
      async () => (await page.locator('.event-table tbody tr td:nth-child(7)').allTextContents()).every((u) => u === 'carol') || undefined,
      10_000,
      'only carol',
    );
    const first = (await seqs()).map(Number);
    expect(first).toHaveLength(50);
    expect(await page.getByRole('button', { name: 'Newer' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByText('Page 2').waitFor();
    await waitFor(async () => (await seqs()).length === 2 * PAGED_CALLS - 50 || undefined, 10_000, 'page 2');
    const second = (await seqs()).map(Number);
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    const all = [...first, ...second];
    expect(all).toEqual([...all].sort((a, b) => b - a));
    expect(new Set(all).size).toBe(2 * PAGED_CALLS);
    await page.getByRole('button', { name: 'Newer' }).click();
    await page.getByText('Page 1').waitFor();
    await waitFor(async () => (await seqs())[0] === String(first[0]) || undefined, 10_000, 'page 1 again');
  });

  it('shows "new events" when others write, and not for its own audited reads', async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('.event-table tbody tr').nth(3).waitFor();
    // Its own polls are audit.query events too: several poll rounds pass without an indicator.
    await page.waitForTimeout(6_000);
    expect(await page.locator('button.fresh').count()).toBe(0);
    const team = await gw.createKey(['chat'], 'team-late');
    await postV1(gw, team.key, '/chat-messages', chatBody({ user: 'erin' }), 'ui-erin-1');
    const fresh = page.locator('button.fresh');
    await fresh.waitFor({ timeout: 15_000 });
    expect(await fresh.innerText()).toMatch(/^\d+ new events?: show$/);
    await fresh.click();
    const erin = page.locator('.event-table tbody tr', { hasText: 'erin' });
    await erin.first().waitFor();
    // Recorded, not sealed yet: no seq, no hash, said so.
    expect(await erin.locator('td:first-child').allTextContents()).toEqual(['unsealed', 'unsealed']);
    await erin
      .first()
      .getByRole('button', { name: /^Open call / })
      .press('Enter');
    const chain = page.locator('section.call table.chain tbody tr');
    await chain.first().waitFor();
    for (const sealed of await chain.locator('td:nth-child(4)').allTextContents()) expect(sealed).toMatch(/^unsealed for [\d.]+ (ms|s)$/);
    expect(await chain.locator('td:first-child').allTextContents()).toEqual(['—', '—']);
    await shot('04-unsealed-call');
    await page.getByRole('button', { name: 'Close' }).click();
  }, 60_000);

  it('shows usage per day and per team as charts', async () => {
    await page.getByRole('button', { name: 'Usage' }).click();
    const daily = page.getByRole('img', { name: /^Calls per day/ });
    await daily.waitFor();
    await waitFor(async () => /\d{4}-\d{2}-\d{2} [1-9]/.test((await daily.getAttribute('aria-label')) ?? '') || undefined, 10_000, 'a day with calls');
    const teams = page.getByRole('img', { name: /^Calls per team/ });
    const teamLabel = await waitFor(
      async () => (await teams.getAttribute('aria-label'))?.includes('team-support') && teams.getAttribute('aria-label'),
      10_000,
      'teams',
    );
    expect(teamLabel).toContain('team-support 3');
    await shot('05-usage');
  });

  it('verifies the chain, then names the first bad event after a row is edited in the database', async () => {
    await page.getByRole('button', { name: 'Integrity' }).click();
    const verify = page.getByRole('button', { name: 'Verify chain' });
    await verify.click();
    await page.getByText(/^Chain intact: \d+ events verified/).waitFor();
    // Erin's call and the page's own reads since the last seal: not covered by the chain yet, within the bound.
    expect(await page.locator('.facts').innerText()).toMatch(/Unsealed events\s+\d+ recorded, not sealed yet; oldest [\d.]+ (ms|s) old \(bound 60\.0 s\)/);

    await auditSettled(gw);
    const checkpoint = (await gw.app.get(AuditMaintenance).checkpoint())!;
    expect(checkpoint.keyId).toEqual(expect.any(String));
    await verify.click();
    await page.getByText(new RegExp(`^Chain intact: \\d+ events verified up to seq ${checkpoint.seq}$`)).waitFor();
    expect(await page.locator('.facts').innerText()).toMatch(
      new RegExp(`Newest checkpoint\\s+seq ${checkpoint.seq}, periodic, .*signed by key ${checkpoint.keyId}`),
    );
    await shot('06-integrity-ok');

    const sql = new pg.Client({ connectionString: gw.db.url });
    await sql.connect();
    try {
      const edited = await sql.query<{ seq: string; id: string }>(
        `UPDATE audit_events SET end_user = 'mallory' WHERE seq = (SELECT min(seq) FROM audit_events WHERE end_user = 'alice') RETURNING seq, id`,
      );
      expect(edited.rowCount).toBe(1);
      await verify.click();
      const verdict = page.getByRole('alert').filter({ hasText: 'Verification failed' });
      await verdict.waitFor();
      expect(await verdict.innerText()).toContain('edited');
      const problem = await page.locator('.problem').innerText();
      expect(problem).toContain(`First bad event: seq ${edited.rows[0].seq}`);
      expect(await verdict.innerText()).toContain(`at seq ${edited.rows[0].seq}`);
      expect(problem).toContain(edited.rows[0].id);
      await shot('07-integrity-failed');
    } finally {
      await sql.end();
    }
  });

  it('signs out: the key is forgotten, and it never appeared in a URL', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.reload();
    await page.getByLabel('API key').waitFor();
    expect(await page.getByText('Signed in with').count()).toBe(0);
    await shot('08-signed-out');
    expect(requestedUrls.length).toBeGreaterThan(5);
    for (const url of requestedUrls) expect(url).not.toContain(auditorKey);
    // No CSP violation, no script error, no missing file in the whole session: only the wrong key's 401.
    expect(pageProblems).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
  });
});
