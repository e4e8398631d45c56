// The dashboard in a real browser (Debian's chromium via playwright-core) against a real server on a loopback port.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { tempDir } from '../helpers/stores.js';
import { restClient, seedFleet, type Rest } from './seed.js';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'dashboard-test-key-0123456789';
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const XSS = '<img src=x onerror="window.__xss=1">';

if (!existsSync(CHROMIUM)) console.warn(`dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

describe.skipIf(!existsSync(CHROMIUM))('dashboard in a real browser', () => {
  const dir = tempDir();
  let server: RunningServer;
  let browser: Browser;
  let rest: Rest;
  /** Console errors and uncaught exceptions of the test's pages, checked at its end. */
  const problems: string[] = [];
  const pages: Page[] = [];
  /** Console messages a test expects (e.g. the cut stream in the reconnect test). */
  let expectedConsole: RegExp | null = null;

  beforeAll(async () => {
    server = await startServer(
      loadConfig({ API_HOST: '127.0.0.1', API_PORT: '0', API_KEY: KEY, DB_PATH: join(dir.path, 'athena.db'), LOG_LEVEL: 'silent' }),
      silentLogger,
    );
    rest = restClient(server.url, KEY);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
    problems.length = 0;
    expectedConsole = null;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    dir.cleanup();
  });

  async function newPage(options: { signedIn?: boolean; width?: number; height?: number; url?: string } = {}): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: options.height ?? 860 } });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    pages.push(page);
    page.setDefaultTimeout(8000); // well under the test's timeout, so a failure names the step
    page.on('console', (msg) => {
      // HTTP failures are reported below with their URL; anything else logged as an error is a bug (CSP violations included).
      if (msg.type() !== 'error' || /the server responded with a status/.test(msg.text()) || expectedConsole?.test(msg.text())) return;
      problems.push(`console: ${msg.text()}`);
    });
    page.on('response', async (res) => {
      // A refused key is an expected 401 in the sign-in test; any other error answer is a bug.
      if (res.status() < 400 || res.status() === 401) return;
      problems.push(`${res.status()} ${res.request().method()} ${res.url()} ${await res.text().catch(() => '')}`);
    });
    if (options.signedIn !== false) await page.addInitScript((key) => sessionStorage.setItem('athena.apiKey', key), KEY);
    await page.goto(options.url ?? server.url);
    if (options.signedIn !== false) await live(page);
    return page;
  }

  const live = (page: Page) => page.locator('#conn[data-state="live"]').waitFor();
  const cardIn = (page: Page, status: string, id: number) => page.locator(`.column[data-status="${status}"] .card[data-task-id="${id}"]`);
  const create = async (description: string, extra: Record<string, unknown> = {}) => (await rest('POST', '/api/tasks', { description, ...extra })).task_id as number;
  const statusOf = async (id: number) => (await rest('GET', `/api/tasks/${id}`)).task;
  /** Claims this very task (tests share one queue, so claim-next could pick another). */
  const claimTask = async (id: number, instance: string, name: string) =>
    (await rest('POST', `/api/tasks/${id}/claim`, { instance_id: instance, instance_name: name })) as { task_id: number; lease_token: string };

  async function openDetail(page: Page, id: number) {
    await page.locator(`.card[data-task-id="${id}"]`).click();
    await page.locator('#detail .detail-head h2', { hasText: `Task #${id}` }).waitFor();
    await page.locator('#detail .detail-body').waitFor();
  }

  function noProblems() {
    expect(problems.splice(0)).toEqual([]);
  }

  it('shows nothing without the key, refuses a wrong one, then shows the live board', async () => {
    const secret = await create('a task only signed-in people may see');
    const page = await newPage({ signedIn: false });
    await page.locator('#login-key').waitFor();
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(await page.content()).not.toContain('only signed-in people');

    await page.fill('#login-key', 'wrong-key');
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error', { hasText: /refused/ }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('athena.apiKey'))).toBeNull();

    await page.fill('#login-key', KEY);
    await page.click('#login-form button[type=submit]');
    await live(page);
    await cardIn(page, 'pending', secret).waitFor();
    // The key stays in this tab's session storage, never in the address bar.
    expect(page.url()).not.toContain(KEY);
    expect(await page.evaluate(() => sessionStorage.getItem('athena.apiKey'))).toBe(KEY);

    await page.click('#sign-out');
    await page.locator('#login-key').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('athena.apiKey'))).toBeNull();
    noProblems();
  });

  it('a task created through REST appears live, without a reload, and counters follow', async () => {
    const page = await newPage();
    await page.evaluate(() => ((window as any).__sameDocument = true));
    // The counters as the server has them, once the page has read them (they load just after the stream opens).
    const before = (await rest('GET', '/api/stats')).pending as number;
    await page.locator('.counter[data-status="pending"] .n', { hasText: new RegExp(`^${before}$`) }).waitFor();

    const id = await create('appears without reload', { priority: 'high', labels: ['live'], project: 'dash' });
    const card = cardIn(page, 'pending', id);
    await card.waitFor();
    expect(await card.locator('.desc').textContent()).toBe('appears without reload');
    expect(await card.locator('.chip').allTextContents()).toEqual(['dash', 'live']);
    await page.locator(`.counter[data-status="pending"] .n`, { hasText: new RegExp(`^${before + 1}$`) }).waitFor();
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

    // A claim moves it to In progress with the agent's name and a lease countdown.
    await rest('POST', `/api/tasks/${id}/claim`, { instance_id: 'host-live', instance_name: 'agent-live', lease_seconds: 600 });
    const working = cardIn(page, 'in_progress', id);
    await working.waitFor();
    expect(await working.locator('.agent').textContent()).toBe('agent-live');
    expect(await working.locator('.lease').textContent()).toMatch(/^lease (9:5\d|10:00)$/);
    await page.locator('#instances .instance-name', { hasText: 'agent-live' }).waitFor();
    noProblems();
  });

  it('shows an XSS payload as text everywhere and never runs it', async () => {
    const page = await newPage();
    const id = await create(XSS, { project: XSS });
    await cardIn(page, 'pending', id).waitFor();
    const held = await claimTask(id, 'host-xss', XSS);
    await rest('POST', `/api/tasks/${id}/ask`, { lease_token: held.lease_token, question: XSS });
    const card = cardIn(page, 'needs_input', id);
    await card.waitFor();
    expect(await card.locator('.desc').textContent()).toBe(XSS);
    expect(await card.locator('.question').textContent()).toBe(XSS);
    expect(await card.locator('.agent').textContent()).toBe(XSS);

    await openDetail(page, id);
    expect(await page.locator('#detail .desc-full').textContent()).toBe(XSS);
    expect(await page.locator('#detail .log').textContent()).toContain(XSS);
    await page.waitForTimeout(300); // give a broken image's onerror the chance to fire
    expect(await page.evaluate(() => document.querySelectorAll('img[src="x"]').length)).toBe(0);
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    noProblems();
  });

  it('lists schedules with their next runs as text, follows a run live, and shows a task\'s schedule in its detail', async () => {
    const { schedule } = await rest('POST', '/api/schedules', { cron: '0 9 * * 1-5', description: XSS, time_zone: 'Europe/Berlin' });
    const page = await newPage();
    const item = page.locator(`#schedules .schedule[data-schedule-id="${schedule.id}"]`);
    await item.waitFor();
    expect(await item.locator('.schedule-desc').textContent()).toBe(XSS);
    expect(await item.locator('code').textContent()).toBe('0 9 * * 1-5');
    expect(await item.locator('.schedule-next').textContent()).toMatch(/^next /);
    await rest('POST', `/api/schedules/${schedule.id}/pause`);
    const { task } = await rest('POST', `/api/schedules/${schedule.id}/run`); // a created task with schedule_id refreshes the panel
    await item.locator('.schedule-next', { hasText: 'paused' }).waitFor();
    await cardIn(page, 'pending', task.id).waitFor();
    await openDetail(page, task.id);
    await page.locator('#detail dd').getByText(`#${schedule.id}`, { exact: true }).waitFor();
    expect(await page.locator('#detail dd').getByText(`schedule #${schedule.id}`, { exact: true }).count()).toBe(1); // submitted by
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    await rest('DELETE', `/api/schedules/${schedule.id}`);
    await rest('POST', `/api/tasks/${task.id}/cancel`, {});
    noProblems();
  });

  it('shows what athena work --repo reported: branch, commits, +/- lines and the PR link, all as text', async () => {
    const page = await newPage();
    const id = await create('work on a branch');
    const held = await claimTask(id, 'host-w', 'agent-w');
    const result = {
      exit_code: 0,
      branch: 'athena/task-1',
      base: 'main',
      head: 'c'.repeat(40),
      commits: [{ id: 'a'.repeat(40), subject: XSS }, { id: 'b'.repeat(40), subject: 'first step' }],
      files_changed: 2,
      insertions: 12,
      deletions: 3,
      pr_url: 'https://github.com/acme/app/pull/42',
    };
    await rest('POST', `/api/tasks/${id}/complete`, { lease_token: held.lease_token, result });
    await cardIn(page, 'completed', id).waitFor();
    await openDetail(page, id);
    const work = page.locator('#detail-work');
    await work.waitFor();
    expect(await work.textContent()).toContain('Branchathena/task-1 from main');
    expect(await work.textContent()).toContain('Changes2 commits, 2 files, +12 −3');
    expect(await work.locator('a').getAttribute('href')).toBe('https://github.com/acme/app/pull/42');
    expect(await page.locator('#detail .commits li').allTextContents()).toEqual([`aaaaaaaa ${XSS}`, 'bbbbbbbb first step']);

    // A link that is not an https PR URL is not a link.
    await page.keyboard.press('Escape');
    const other = await create('a result with a bad link');
    const o = await claimTask(other, 'host-w', 'agent-w');
    await rest('POST', `/api/tasks/${other}/complete`, { lease_token: o.lease_token, result: { branch: 'x', pr_url: 'javascript:alert(1)//github.com/a/b/pull/1' } });
    await cardIn(page, 'completed', other).waitFor();
    await openDetail(page, other);
    await page.locator('#detail-work').waitFor();
    expect(await page.locator('#detail-work a').count()).toBe(0);
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    noProblems();
  });

  it('adds a task with the form, then cancels it and changes a priority from the UI', async () => {
    const page = await newPage();
    await page.click('#new-task');
    await page.fill('#new-description', 'made in the browser');
    await page.selectOption('#new-priority', 'low');
    await page.fill('#new-labels', 'ui, web');
    await page.fill('#new-project', 'athena');
    await page.click('#new-submit');
    const made = page.locator('.column[data-status="pending"] .card', { hasText: 'made in the browser' });
    await made.waitFor();
    const id = Number(await made.getAttribute('data-task-id'));
    expect(await statusOf(id)).toMatchObject({ status: 'pending', priority: 'low', labels: ['ui', 'web'], project: 'athena' });

    // Priority: the low task jumps ahead of a medium one in the pending column.
    const medium = await create('a medium task');
    await cardIn(page, 'pending', medium).waitFor();
    const order = () => page.locator('.column[data-status="pending"] .card').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.taskId)));
    expect((await order()).indexOf(id)).toBeGreaterThan((await order()).indexOf(medium));
    await openDetail(page, id);
    await page.selectOption('#detail-priority', 'high');
    await page.locator('.toast', { hasText: `Priority of #${id} set to high` }).waitFor();
    await page.locator(`.column[data-status="pending"] .card[data-task-id="${id}"] .prio`, { hasText: 'high' }).waitFor();
    expect((await order()).indexOf(id)).toBeLessThan((await order()).indexOf(medium));
    expect((await statusOf(id)).priority).toBe('high');

    // Cancel takes two clicks.
    await page.click('#detail-cancel');
    expect((await statusOf(id)).status).toBe('pending');
    await page.click('#detail-cancel');
    await cardIn(page, 'cancelled', id).waitFor();
    await page.locator('#detail .badge', { hasText: 'Cancelled' }).waitFor();
    expect((await statusOf(id)).status).toBe('cancelled');
    // A priority change is an edit since PATCH edits every field (logged old -> new).
    expect(await page.locator('#detail .log .action').allTextContents()).toEqual(['created', 'edited', 'cancelled']);
    noProblems();
  });

  it('signs in with a name; edits in place, comments, reopens and deletes, each recorded with that name', async () => {
    const page = await newPage({ signedIn: false });
    await page.fill('#login-key', KEY);
    await page.fill('#login-name', 'Rosa');
    await page.click('#login-form button[type=submit]');
    await live(page);

    // The form takes dependencies, a start time and an assignee.
    const dep = await create('comes first');
    await page.click('#new-task');
    await page.fill('#new-description', 'scheduled from the browser');
    await page.fill('#new-depends', String(dep));
    await page.fill('#new-start', '2099-01-02T09:30');
    await page.fill('#new-assignee', 'host-z');
    await page.click('#new-submit');
    const made = page.locator('.column[data-status="pending"] .card', { hasText: 'scheduled from the browser' });
    await made.waitFor();
    const id = Number(await made.getAttribute('data-task-id'));
    expect(await statusOf(id)).toMatchObject({ depends_on: [dep], assignee: 'host-z', submitted_by: 'Rosa' });
    expect(new Date((await statusOf(id)).run_after).getFullYear()).toBe(2099);
    expect(await made.locator('.scheduled').textContent()).toMatch(/^⏰ /);

    // Edit in place.
    await openDetail(page, id);
    await page.click('#detail-edit');
    await page.fill('#edit-description', 'scheduled and edited');
    await page.fill('#edit-labels', 'web');
    await page.fill('#edit-start', '');
    await page.click('#edit-save');
    await page.locator('#detail .desc-full', { hasText: 'scheduled and edited' }).waitFor();
    expect(await statusOf(id)).toMatchObject({ description: 'scheduled and edited', labels: ['web'], run_after: null });
    const edited = (await rest('GET', `/api/tasks/${id}`)).logs.find((l: { action: string }) => l.action === 'edited');
    expect(edited.details).toMatch(/^by Rosa: /);

    // A comment, shown in the detail and kept with the name.
    await page.fill('#detail-comment', 'looks good');
    await page.click('.comment-form button[type=submit]');
    await page.locator('#detail-comments li', { hasText: 'looks good' }).waitFor();
    expect((await rest('GET', `/api/tasks/${id}/comments`)).comments).toMatchObject([{ author: 'Rosa', body: 'looks good', source: 'dashboard' }]);

    // Cancel, reopen, then delete (two clicks): the card leaves the board without a reload.
    await rest('POST', `/api/tasks/${id}/cancel`, {});
    await cardIn(page, 'cancelled', id).waitFor();
    await page.click('#detail-reopen');
    await cardIn(page, 'pending', id).waitFor();
    await page.click('#detail-delete');
    expect((await statusOf(id)).status).toBe('pending');
    await page.click('#detail-delete');
    await cardIn(page, 'pending', id).waitFor({ state: 'detached' });
    expect((await rest('GET', '/api/tasks?status=all&limit=500')).tasks.some((t: { id: number }) => t.id === id)).toBe(false);
    // The open detail re-reads its task on each event; it stops (and aborts a read on its way) before it
    // sends the delete, so no read answers 404.
    noProblems();
  });

  it('a purge takes its cards off the board without a reload; "Retry all" keeps to the agent filtered on', async () => {
    const page = await newPage();
    const old = await create('done long ago');
    const held = await claimTask(old, 'host-p', 'agent-p');
    await rest('POST', `/api/tasks/${old}/complete`, { lease_token: held.lease_token });
    await cardIn(page, 'completed', old).waitFor();
    await rest('POST', '/api/tasks/purge', { older_than_days: 0 });
    await cardIn(page, 'completed', old).waitFor({ state: 'detached' });

    const mine = await create('fails for host-r1');
    const theirs = await create('fails for host-r2');
    for (const [id, host] of [[mine, 'host-r1'], [theirs, 'host-r2']] as const) {
      const c = await claimTask(id, host, host);
      await rest('POST', `/api/tasks/${id}/fail`, { lease_token: c.lease_token, error: 'boom' });
    }
    await page.locator('#f-agent option[value="host-r1"]').waitFor({ state: 'attached' });
    await page.selectOption('#f-agent', 'host-r1');
    await cardIn(page, 'failed', mine).waitFor();
    await page.locator('.column[data-status="failed"] button', { hasText: /Retry all/ }).click();
    // Retried, it is pending with no agent, so it leaves this filtered board.
    await cardIn(page, 'failed', mine).waitFor({ state: 'detached' });
    expect((await statusOf(mine)).status).toBe('pending');
    expect((await statusOf(theirs)).status).toBe('failed');
    noProblems();
  });

  it('answers a task that needs input and retries a failed one', async () => {
    const page = await newPage();
    const asking = await create('needs a human', { labels: ['qa'] });
    const held = await claimTask(asking, 'host-q', 'agent-q');
    await rest('POST', `/api/tasks/${asking}/ask`, { lease_token: held.lease_token, question: 'Which branch?' });
    await cardIn(page, 'needs_input', asking).waitFor();
    await openDetail(page, asking);
    await page.fill('#detail-answer', 'use main');
    await page.click('.answer-form button[type=submit]');
    await cardIn(page, 'in_progress', asking).waitFor();
    expect(await statusOf(asking)).toMatchObject({ status: 'in_progress', answer: 'use main', instance_id: 'host-q' });
    await page.keyboard.press('Escape');

    const failing = await create('will fail', { labels: ['fails'] });
    const f = await claimTask(failing, 'host-f', 'agent-f');
    await rest('POST', `/api/tasks/${failing}/fail`, { lease_token: f.lease_token, error: 'boom' });
    const failedCard = cardIn(page, 'failed', failing);
    await failedCard.waitFor();
    expect(await failedCard.locator('.error-text').textContent()).toBe('boom');
    expect(await failedCard.locator('.attempts').textContent()).toBe('1/3 attempts used');
    await openDetail(page, failing);
    expect(await page.locator('#detail .facts').textContent()).toContain('Attempts1 of 3 used');
    await page.click('#detail-retry');
    await cardIn(page, 'pending', failing).waitFor();
    expect((await statusOf(failing)).status).toBe('pending');
    noProblems();
  });

  it('reviews a task: the form asks for review, Request changes sends it back with feedback, Accept completes it', async () => {
    const page = await newPage();
    await page.click('#new-task');
    await page.fill('#new-description', 'needs a reviewer');
    await page.fill('#new-labels', 'review-ui');
    await page.check('#new-review');
    await page.click('#new-submit');
    const made = page.locator('.column[data-status="pending"] .card', { hasText: 'needs a reviewer' });
    await made.waitFor();
    const id = Number(await made.getAttribute('data-task-id'));
    expect((await statusOf(id)).review).toBe(true);

    const first = await claimTask(id, 'host-r', 'agent-r');
    await rest('POST', `/api/tasks/${id}/complete`, { lease_token: first.lease_token, notes: 'pushed a branch' });
    await cardIn(page, 'in_review', id).waitFor();
    await openDetail(page, id);
    await page.locator('#detail .badge', { hasText: 'In review' }).waitFor();
    await page.fill('#detail-feedback', 'please add a test');
    await page.click('#detail-changes');
    await cardIn(page, 'pending', id).waitFor();
    expect(await statusOf(id)).toMatchObject({ status: 'pending', review_feedback: 'please add a test', preferred_instance_id: 'host-r' });
    await page.locator('#detail .detail-section', { hasText: 'Feedback from review' }).waitFor();

    const second = await claimTask(id, 'host-r', 'agent-r');
    await rest('POST', `/api/tasks/${id}/complete`, { lease_token: second.lease_token });
    await cardIn(page, 'in_review', id).waitFor();
    await page.click('#detail-accept');
    await cardIn(page, 'completed', id).waitFor();
    expect((await statusOf(id)).status).toBe('completed');
    expect(await page.locator('#detail .log .action').allTextContents()).toEqual(['created', 'claimed', 'in_review', 'changes_requested', 'claimed', 'in_review', 'completed']);
    noProblems();
  });

  it('a key that may not review sees a task in review without the Accept and Request changes buttons', async () => {
    const id = await create('in review, seen by an agent key', { review: true, labels: ['review-ro'] });
    const held = await claimTask(id, 'host-ro', 'agent-ro');
    await rest('POST', `/api/tasks/${id}/complete`, { lease_token: held.lease_token });
    const page = await newPage();
    await page.route('**/api/me', (route) => route.fulfill({ json: { name: 'laptop', role: 'agent', instance_id: 'host-ro' } }));
    await page.reload();
    await live(page);
    await openDetail(page, id);
    await page.locator('#detail-review-wait', { hasText: 'admin or reviewer key' }).waitFor();
    expect(await page.locator('#detail-accept').count()).toBe(0);
    expect(await page.locator('#detail-changes').count()).toBe(0);
    await rest('POST', `/api/tasks/${id}/review`, { decision: 'accept' });
    noProblems();
  });

  it('shows a running task\'s output live in its detail, as plain text', async () => {
    const page = await newPage();
    const id = await create('prints things', { labels: ['output-ui'] });
    const held = await claimTask(id, 'host-o', 'agent-o');
    const append = (offset: number, text: string) => rest('POST', `/api/tasks/${id}/output`, { lease_token: held.lease_token, offset, text });
    await append(0, 'building…\n');
    await openDetail(page, id);
    const pane = page.locator('#detail-output');
    await page.waitForFunction(() => document.querySelector('#detail-output')?.textContent === 'building…\n');
    const line = `<b id="injected">bold?</b> ${XSS}\n`;
    await append(Buffer.byteLength('building…\n'), line);
    await page.waitForFunction((want) => document.querySelector('#detail-output')?.textContent === want, `building…\n${line}`);
    expect(await page.locator('#injected').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    // A redraw of the detail (a heartbeat) keeps the pane and what it shows.
    await rest('POST', `/api/tasks/${id}/heartbeat`, { lease_token: held.lease_token, progress: 'half way' });
    await page.locator('#detail .log .action', { hasText: 'heartbeat' }).waitFor();
    expect(await pane.textContent()).toBe(`building…\n${line}`);
    noProblems();
  });

  it('filters by label, project and agent, and searches text, for loaded and live tasks', async () => {
    const page = await newPage();
    const red = await create('paint the shed red', { labels: ['paint'], project: 'garden' });
    const blue = await create('paint the fence blue', { labels: ['paint'], project: 'house' });
    const other = await create('mow the lawn', { project: 'garden' });
    await cardIn(page, 'pending', other).waitFor();
    const visible = () => page.locator('.column[data-status="pending"] .card').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.taskId)));

    await page.fill('#f-label', 'paint');
    await page.waitForFunction((ids) => ids.every((id) => document.querySelector(`.card[data-task-id="${id}"]`)) && document.querySelectorAll('.column[data-status="pending"] .card').length === 2, [red, blue]);
    expect((await visible()).sort()).toEqual([red, blue].sort());
    expect(page.url()).toContain('label=paint');

    await page.fill('#f-project', 'garden');
    await page.waitForFunction(() => document.querySelectorAll('.column[data-status="pending"] .card').length === 1);
    expect(await visible()).toEqual([red]);

    // A live task that does not match stays out; one that matches comes in.
    const later = await create('paint the gate', { labels: ['paint'], project: 'garden' });
    await create('paint elsewhere', { labels: ['paint'], project: 'elsewhere' });
    await cardIn(page, 'pending', later).waitFor();
    expect((await visible()).sort()).toEqual([red, later].sort());

    await page.click('#f-clear');
    await page.fill('#f-q', 'FENCE');
    await page.waitForFunction(() => document.querySelectorAll('.column[data-status="pending"] .card').length === 1);
    expect(await visible()).toEqual([blue]);

    await page.fill('#f-q', '');
    const held = await claimTask(red, 'host-filter', 'agent-filter');
    await page.locator('#f-agent option[value="host-filter"]').waitFor({ state: 'attached' });
    await page.selectOption('#f-agent', 'host-filter');
    await page.waitForFunction(() => document.querySelectorAll('.column .card').length === 1);
    expect(await page.locator(`.column[data-status="in_progress"] .card`).getAttribute('data-task-id')).toBe(String(held.task_id));
    noProblems();
  });

  it('after the connection drops, reconnects with Last-Event-ID and gets what it missed without reloading', async () => {
    const page = await newPage();
    await page.waitForTimeout(500); // let the first counters load settle: no request in flight when we cut
    const eventRequests: string[] = [];
    const listLoads: string[] = [];
    page.on('request', (req) => {
      if (req.url().includes('/api/events')) eventRequests.push(req.headers()['last-event-id'] ?? '(none)');
      if (/\/api\/tasks\?/.test(req.url())) listLoads.push(req.url());
    });
    const lastSeen = await server.queue.lastEventId();

    expectedConsole = /ERR_INCOMPLETE_CHUNKED_ENCODING/; // the browser's note about the cut stream
    server.app.server.closeAllConnections(); // the stream (and every other socket) drops at once
    // In-process (every socket was just cut), well before the client's first retry after ≥0.75 s.
    const { task: missedTask } = await server.queue.create({ description: 'created while the dashboard was disconnected' });
    const missed = missedTask.id;
    await page.locator('#conn[data-state="retrying"]').waitFor();
    await cardIn(page, 'pending', missed).waitFor();
    await live(page);

    expect(eventRequests[0]).toBe(String(lastSeen));
    expect(listLoads).toEqual([]); // resumed from the stream, not by reloading the columns
    noProblems();
  });

  it('shows a pause in a banner with who, why and since when, live; Pause and Resume work from the page', async () => {
    const page = await newPage();
    const banner = page.locator('#pause-banner');
    expect(await banner.isHidden()).toBe(true);
    await page.locator('#pause-open').waitFor(); // an admin key sees the Pause button
    const waiting = await create('waits while label:bn is paused', { labels: ['bn'] });
    const card = cardIn(page, 'pending', waiting);
    await card.waitFor();
    expect(await card.locator('.waiting').count()).toBe(0);

    // Paused elsewhere (REST): the banner appears without a reload; the reason is text, never markup.
    await rest('POST', '/api/queue/pause', { scope: 'label:bn', reason: 'deploying <b>db</b>', by: 'ops' });
    const row = banner.locator('.pause-row[data-scope="label:bn"]');
    await row.waitFor();
    expect(await row.locator('.pause-scope').textContent()).toBe('Label bn is paused');
    expect(await row.locator('.pause-by').textContent()).toBe('by ops');
    expect(await row.locator('.pause-reason').textContent()).toBe('— deploying <b>db</b>');
    expect(await row.locator('b').count()).toBe(0);
    expect(await row.locator('.pause-since').textContent()).toMatch(/^since .+ \(\d+s ago\)$/);
    await card.locator('.why-paused', { hasText: 'paused: label:bn by ops' }).waitFor();
    await page.locator('#controls .control.paused[data-scope="label:bn"]').waitFor();

    // Resume from the banner: gone from the banner, the panel and the card; the server agrees.
    await row.locator('button.resume').click();
    await banner.waitFor({ state: 'hidden' });
    await card.locator('.why-paused').waitFor({ state: 'detached' });
    expect((await rest('GET', '/api/queue/pauses')).pauses).toEqual([]);

    // Pause from the dialog (one project, with a reason), recorded with the key's name; resumed elsewhere, the banner goes.
    await page.click('#pause-open');
    await page.selectOption('#pause-kind', 'project');
    await page.fill('#pause-value', 'dash-paused');
    await page.fill('#pause-reason', 'maintenance');
    await page.click('#pause-submit');
    await banner.locator('.pause-row[data-scope="project:dash-paused"] .pause-reason', { hasText: '— maintenance' }).waitFor();
    expect((await rest('GET', '/api/queue/pauses')).pauses).toMatchObject([{ scope: 'project:dash-paused', paused_by: 'api', reason: 'maintenance' }]);
    await rest('POST', '/api/queue/resume', { scope: 'project:dash-paused' });
    await banner.waitFor({ state: 'hidden' });

    // The whole queue: every pending card says so. Resumed at once (the queue is shared by these tests).
    try {
      await rest('POST', '/api/queue/pause', { reason: 'release' });
      await banner.locator('.pause-row[data-scope="queue"] .pause-scope', { hasText: 'The queue is paused' }).waitFor();
      await card.locator('.why-paused', { hasText: 'queue paused by api' }).waitFor();
    } finally {
      await rest('POST', '/api/queue/resume', {});
    }
    await banner.waitFor({ state: 'hidden' });
    await rest('POST', `/api/tasks/${waiting}/cancel`, {});
    noProblems();
  });

  it('a key that may not pause sees the pause but no Pause or Resume button', async () => {
    await rest('POST', '/api/queue/pause', { scope: 'label:ro', reason: 'look only' });
    try {
      const page = await newPage();
      await page.route('**/api/me', (route) => route.fulfill({ json: { name: 'wall', role: 'reader', instance_id: null } }));
      await page.reload();
      await live(page);
      await page.locator('#pause-banner .pause-row[data-scope="label:ro"]').waitFor();
      expect(await page.locator('#pause-banner button').count()).toBe(0);
      expect(await page.locator('#pause-open').isHidden()).toBe(true);
    } finally {
      await rest('POST', '/api/queue/resume', { scope: 'label:ro' });
    }
    noProblems();
  });

  it('a pending card says why it waits: a limit reached, dependencies, a start time, an assignee; a blocked one why', async () => {
    // A parent held before the page opens, on a board filtered to other tasks: its status is read for the child's card.
    const parent = await create('parent of a waiting child');
    const parentHold = await claimTask(parent, 'host-why', 'agent-why');
    const child = await create('child waits on its parent', { depends_on: [parent], labels: ['why'] });
    const page = await newPage({ url: `${server.url}/?label=why` });
    const childCard = cardIn(page, 'pending', child);
    await childCard.locator('.why-dependencies', { hasText: `waiting on #${parent} (in progress)` }).waitFor();
    expect(await cardIn(page, 'in_progress', parent).count()).toBe(0);

    // A limit: shown on the card and in the panel with what is held, and gone when a slot frees.
    await rest('PUT', '/api/limits', { scope: 'label:whydb', max: 1 });
    try {
      const first = await create('db one', { labels: ['why', 'whydb'] });
      const second = await create('db two', { labels: ['why', 'whydb'] });
      const firstHold = await claimTask(first, 'host-db', 'agent-db');
      const secondCard = cardIn(page, 'pending', second);
      await secondCard.locator('.why-limit', { hasText: 'concurrency limit reached: label:whydb 1/1' }).waitFor();
      await page.locator('#controls .control.limit.full[data-scope="label:whydb"] .held', { hasText: '1/1 in progress' }).waitFor();
      await openDetail(page, second);
      await page.locator('#detail-waiting .why-limit', { hasText: 'label:whydb 1/1' }).waitFor();
      await page.keyboard.press('Escape');
      await page.locator('#detail').waitFor({ state: 'hidden' });
      await rest('POST', `/api/tasks/${first}/complete`, { lease_token: firstHold.lease_token });
      await secondCard.locator('.why-limit').waitFor({ state: 'detached' });
      await page.locator('#controls .control.limit[data-scope="label:whydb"] .held', { hasText: '0/1 in progress' }).waitFor();
      await rest('POST', `/api/tasks/${second}/cancel`, {});
    } finally {
      await rest('DELETE', '/api/limits?scope=label:whydb');
    }

    // A start time and an assignee.
    const later = await create('starts tomorrow', { labels: ['why'], run_after: new Date(Date.now() + 86_400_000).toISOString(), assignee: 'host-only' });
    const laterCard = cardIn(page, 'pending', later);
    await laterCard.locator('.why-scheduled', { hasText: /^scheduled: not before / }).waitFor();
    expect(await laterCard.locator('.why-assigned').textContent()).toBe('assigned: only host-only may take it');

    // The parent deleted by force: the child is blocked, and its card says why.
    await rest('DELETE', `/api/tasks/${parent}?force=true`);
    const blocked = cardIn(page, 'blocked', child);
    await blocked.locator('.why-blocked', { hasText: /^blocked/ }).waitFor();
    expect(parentHold.lease_token).toBeTruthy();
    await rest('POST', `/api/tasks/${later}/cancel`, {});
    await rest('POST', `/api/tasks/${child}/cancel`, {});
    noProblems();
  });

  it('fits a phone: one column at a time, switched with the counters', async () => {
    const page = await newPage({ width: 390, height: 844 });
    expect(await page.locator('.column[data-status="pending"]').isVisible()).toBe(true);
    expect(await page.locator('.column[data-status="completed"]').isVisible()).toBe(false);
    await page.click('.counter[data-status="completed"]');
    expect(await page.locator('.column[data-status="completed"]').isVisible()).toBe(true);
    expect(await page.locator('.column[data-status="pending"]').isVisible()).toBe(false);
    // Nothing is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    noProblems();
  });

  it('renders a busy fleet (screenshot for the README)', async () => {
    // Its own server, so the picture shows a realistic fleet rather than the other tests' leftovers.
    const fleetDir = tempDir();
    const fleet = await startServer(
      loadConfig({ API_HOST: '127.0.0.1', API_PORT: '0', API_KEY: KEY, DB_PATH: join(fleetDir.path, 'athena.db'), LOG_LEVEL: 'silent' }),
      silentLogger,
    );
    try {
      await seedFleet(restClient(fleet.url, KEY));
      mkdirSync(ARTIFACTS, { recursive: true });
      const page = await newPage({ width: 1440, height: 900, url: fleet.url });
      await page.locator('.column[data-status="needs_input"] .card').first().waitFor();
      await page.locator('.counter.total .n', { hasText: '9' }).waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png') });
      await page.setViewportSize({ width: 1440, height: 900 });
      await openDetail(page, Number(await page.locator('.column[data-status="needs_input"] .card').first().getAttribute('data-task-id')));
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-detail.png') });
      expect(existsSync(join(ARTIFACTS, 'dashboard.png'))).toBe(true);
      await page.close();
      noProblems();
    } finally {
      await fleet.close();
      fleetDir.cleanup();
    }
  });
});
