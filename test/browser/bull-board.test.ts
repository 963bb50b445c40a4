import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REDIS_URL, uniquePrefix } from '../helpers/env';
import { REPO_ROOT, startLongRunning, startWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { deletePrefix } from '../helpers/redis';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const PASSWORD = 'board-password-42';

const HAVE_CHROMIUM = existsSync(CHROMIUM);
// In CI a missing browser is a failure, never a silent skip; on a laptop the skip says why.
if (!HAVE_CHROMIUM && process.env.CI !== 'true') {
  console.warn(`skipping the Bull Board browser test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

describe('a browser is available when CI=true', () => {
  it.runIf(process.env.CI === 'true')(`finds Chromium at ${CHROMIUM}`, () => {
    expect(HAVE_CHROMIUM, `CI=true but there is no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium`).toBe(true);
  });
});

/** Bull Board as a person sees it: a real `serve`, a real worker, headless Chromium. */
describe.skipIf(!HAVE_CHROMIUM && process.env.CI !== 'true')(`Bull Board in a browser (${CHROMIUM})`, () => {
  const prefix = uniquePrefix('browser');
  let port: number;
  let serve: WorkerProcess;
  let worker: WorkerProcess;
  let browser: Browser;

  beforeAll(async () => {
    port = await freePort();
    const env = { REDIS_URL, RAGSCOPE_QUEUE_PREFIX: prefix, DD_TRACE_ENABLED: 'false', RAGSCOPE_ADMIN_PASSWORD: PASSWORD };
    worker = await startWorkerProcess(env);
    serve = await startLongRunning(['serve', '--port', String(port)], env, 'ragscope serve on');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('rag-query', { connection, prefix });
    const events = new QueueEvents('rag-query', { connection: connection.duplicate(), prefix });
    await events.waitUntilReady();
    await (await queue.add('query', { query: 'Which Redis eviction policy suits a job queue?', userId: 'browser' })).waitUntilFinished(events, 30_000);
    await events.close();
    await queue.close();
    await connection.quit();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    await worker?.stop();
    await deletePrefix(prefix);
  });

  it('asks for credentials, then shows both queues and the completed job', async () => {
    // Chromium aborts a navigation answered 401 without credentials, so the anonymous visit goes
    // through the browser context's own request API (same cookies, same network stack).
    const anonymous = await browser.newContext();
    const refused = await anonymous.request.get(`http://127.0.0.1:${port}/admin/queues`);
    expect(refused.status()).toBe(401);
    expect(refused.headers()['www-authenticate']).toMatch(/^Basic/);
    await anonymous.close();

    const admin = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORD } });
    const page = await admin.newPage();
    const response = await page.goto(`http://127.0.0.1:${port}/admin/queues`);
    expect(response?.status()).toBe(200);
    await page.getByText('rag-query').first().waitFor({ timeout: 15_000 });
    await expect(page.getByText('leak-check').first().isVisible()).resolves.toBe(true);

    await page.goto(`http://127.0.0.1:${port}/admin/queues/queue/rag-query?status=completed`);
    await page.getByText('#1', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByText('Which Redis eviction policy suits a job queue?', { exact: false }).first().waitFor({ timeout: 15_000 });
    // The board is read-only by default: no retry or delete controls on a completed job.
    expect(await page.getByRole('button', { name: /retry|clean|remove/i }).count()).toBe(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'bull-board-completed.png'), fullPage: true });
    expect(existsSync(path.join(ARTIFACTS, 'bull-board-completed.png'))).toBe(true);
    await admin.close();
  }, 90_000);
});

if (!existsSync(CHROMIUM)) {
  console.warn(`browser test skipped: no Chromium at ${CHROMIUM} (apt install chromium, or set CHROMIUM_PATH); .ci/run installs it`);
}
