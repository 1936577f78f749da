// The service worker and the server agree through build.json (build.sh writes it): a second
// visit to an unchanged build asks the server for build.json alone and loads everything else
// from the cache; after a new build, the next online load gets the new files, and the visit
// after that is served from the new build's cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, openApp, waitForStatus } from './helpers.js';

let app;
let dir;
let www;

// build.sh's own step that lists the build, run on the copy (the code between its `node - <<'JS'`
// and `JS` lines).
async function listBuild() {
  const script = (await readFile(path.join(ROOT, 'build.sh'), 'utf8')).match(/\nnode - <<'JS'\n([^]*?)\nJS\n/)[1];
  const r = spawnSync(process.execPath, ['-'], { cwd: dir, input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-build-'));
  www = path.join(dir, 'www');
  // The gzip siblings are left out: the copy's edited files must be the ones sent.
  await cp(path.join(ROOT, 'www'), www, { recursive: true, filter: (src) => !src.endsWith('.gz') });
  await listBuild();
  app = await openApp({ dir: www, log: true });
});
after(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Reloads the page and returns the server's answers during the load (until ready and idle). */
async function visit(page, server) {
  const from = server.answers.length;
  await page.reload({ waitUntil: 'domcontentloaded' });
  await waitForStatus(page, 'ready', 30_000);
  await page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', null,
    { timeout: 30_000, polling: 50 });
  await new Promise((r) => setTimeout(r, 500));
  return server.answers.slice(from).map((a) => `${a.target} ${a.status}`);
}

test('an unchanged build loads from the cache; a new build is picked up on the next load', { timeout: 120_000 }, async () => {
  const { page, server } = app;
  await page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', null,
    { timeout: 30_000, polling: 50 });

  // Unchanged: build.json (and the browser's check of sw.js), both 304s; nothing else.
  const unchanged = await visit(page, server);
  assert.ok(unchanged.every((a) => /^\/(build\.json|sw\.js) 304$/.test(a)), unchanged.join(', '));
  assert.ok(unchanged.includes('/build.json 304'), unchanged.join(', '));

  // A new build: the page's tagline changed, build.json lists the new index.html.
  const index = path.join(www, 'index.html');
  const html = await readFile(index, 'utf8');
  await writeFile(index, html.replace('learns and predicts entirely in your browser.',
    'learns and predicts entirely in your browser (new build).'));
  await listBuild();
  const first = await visit(page, server);
  assert.ok(first.includes('/build.json 200'), first.join(', '));
  assert.match(await page.textContent('.tagline'), /\(new build\)/);

  // The visit after: the new build, from the cache.
  const second = await visit(page, server);
  assert.ok(second.every((a) => /^\/(build\.json|sw\.js) 304$/.test(a)), second.join(', '));
  assert.match(await page.textContent('.tagline'), /\(new build\)/);
  const cached = await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('purrceptron-build-')));
  assert.equal(cached.length, 1, `one build cache, not ${cached.join(', ')}`);
});
