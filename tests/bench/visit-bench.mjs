#!/usr/bin/env node
// First and second visits, as a person makes them: the real server (`serve --log`, which reports
// every answer's bytes), Debian's headless Chromium with one fresh profile kept across visits,
// index.html opened, logistic regression trained with its defaults, the page closed; then
// `visits` more visits, each in a new page (so a fresh worker), with the service worker and its
// caches from the first. Prints the bytes the server sent per visit and the time from the click
// on Train to the result, timed in the page. A benchmark, not a test: nothing is asserted.
//
//   node tests/bench/visit-bench.mjs [visits=5]
//
// "as before" is what the server sent before the server and the service worker learnt
// validators, gzip and build.json: every file of the same requests in full, uncompressed, with
// the same head. Needs `./build.sh build` and `npm ci` in tests/e2e.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, startServer, waitForStatus } from '../e2e/helpers.js';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const visits = Number(process.argv[2] ?? 5);
if (!Number.isInteger(visits) || visits < 1) {
  console.error('usage: node tests/bench/visit-bench.mjs [visits=5]');
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

// The size of the file a target names (index.html for a folder), or 0 if there is none.
async function fileSize(target) {
  let p = decodeURIComponent(target.split('?')[0]);
  if (p.endsWith('/')) p += 'index.html';
  try {
    return (await stat(path.join(ROOT, 'www', p))).size;
  } catch {
    return 0;
  }
}

async function bytesOf(answers) {
  let sent = 0;
  let before = 0;
  for (const a of answers) {
    sent += a.head + a.body;
    // The old server answered every request with the whole file, uncompressed.
    before += a.head + (a.method === 'HEAD' ? 0 : a.status === 200 || a.status === 304 ? await fileSize(a.target) : a.body);
  }
  return { sent, before, requests: answers.length };
}

/** Clicks Train (logistic regression, its defaults); the time from the click to the status
 * 'trained' after 'training', measured in the page, and the test accuracy shown. */
async function timedTraining(page) {
  // The page resolves a promise when the result shows, which the benchmark then awaits: polling
  // for it would run a script in the page every few milliseconds, competing with the training
  // it times (on two cores that added 10-30 ms).
  await page.evaluate(() => {
    const status = document.querySelector('[data-testid=status]');
    window.__clickToResult = new Promise((resolve) => {
      document.querySelector('[data-testid=train]').addEventListener('click', () => {
        const t0 = performance.now();
        let started = false;
        const observer = new MutationObserver(() => {
          started ||= status.textContent === 'training';
          if (!started || status.textContent !== 'trained') return;
          observer.disconnect();
          resolve(performance.now() - t0);
        });
        observer.observe(status, { childList: true, characterData: true, subtree: true });
      }, { capture: true, once: true });
    });
  });
  await page.selectOption('[data-testid=model]', 'lr');
  await page.click('[data-testid=train]');
  const ms = await page.evaluate(() => window.__clickToResult);
  return { ms, test: await page.textContent('[data-testid=test-accuracy]') };
}

/** Opens the page, trains logistic regression, and returns the figures of this visit. */
async function visit(context, server, { waitForCache }) {
  const from = server.answers.length;
  const page = await context.newPage();
  await page.goto(server.url, { waitUntil: 'domcontentloaded' });
  await waitForStatus(page, 'ready', 60_000);
  // A second visit puts the saved model back in use first (the status becomes 'trained') and
  // shows what it learnt. A person reads the page for a moment before pressing Train: 1 s.
  if (!waitForCache) {
    await waitForStatus(page, 'trained', 60_000);
    await page.waitForSelector('#inspect:not([hidden])', { timeout: 60_000 });
  }
  await new Promise((r) => setTimeout(r, 1000));
  const first = await timedTraining(page);
  // The same training again in the same worker: its optimised code, for comparison.
  const again = await timedTraining(page);
  // The first visit ends once the service worker holds the build (what makes the next fast).
  if (waitForCache) {
    await page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', null,
      { timeout: 60_000, polling: 50 });
  }
  // Whatever the page still loads after the training (nothing is expected) counts too.
  await new Promise((r) => setTimeout(r, 500));
  await page.close();
  return { trainMs: first.ms, test: first.test, againMs: again.ms, ...(await bytesOf(server.answers.slice(from))) };
}

const server = await startServer({ log: true });
const profile = await mkdtemp(path.join(os.tmpdir(), 'purrceptron-visits-'));
let context;
const rows = [];
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS], timeout: 30_000,
  });
  // The persistent context opens with a blank page: closed, so every visit is a new page.
  for (const p of context.pages()) await p.close();
  rows.push({ name: 'first visit', ...(await visit(context, server, { waitForCache: true })) });
  for (let i = 1; i <= visits; i++) rows.push({ name: `second visit ${i}`, ...(await visit(context, server, {})) });
  const version = context.browser()?.version() ?? '';

  console.log('Purrceptron: first and second visits');
  console.log(`machine   ${os.availableParallelism()} CPUs, load avg ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ` +
    `Chromium ${version} headless`);
  console.log('');
  const header = ['visit', 'requests', 'bytes sent', 'as before', 'sent/before', 'train click→result ms', 'again ms', 'test acc'];
  const table = rows.map((r) => [r.name, String(r.requests), kb(r.sent), kb(r.before),
    `${(100 * r.sent / r.before).toFixed(1)}%`, r.trainMs.toFixed(1), r.againMs.toFixed(1), r.test]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const t of table) console.log(line(t));
  const seconds = rows.slice(1);
  console.log('');
  console.log(`second visits: bytes sent median ${kb(median(seconds.map((r) => r.sent)))} (target < 10 KB); ` +
    `training in a fresh worker median ${median(seconds.map((r) => r.trainMs)).toFixed(1)} ms (target <= 100 ms), ` +
    `again in the same worker ${median(seconds.map((r) => r.againMs)).toFixed(1)} ms`);
  console.log(`first visit: ${(100 * rows[0].sent / rows[0].before).toFixed(1)}% of the bytes as before (target <= 60%)`);
  const last = seconds.at(-1);
  console.log(`last second visit's requests: ${server.answers.slice(-last.requests).map((a) => `${a.target} ${a.status}`).join(', ')}`);
} finally {
  await context?.close().catch(() => {});
  await server.stop();
  await rm(profile, { recursive: true, force: true });
}
