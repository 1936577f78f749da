// "Your own dataset": photos dropped and chosen (files and a folder) become a seeded split in the
// page, train like the built-in set, export to the same bytes `purrceptron convert --images`
// writes for the same photos, and load back to the same dataset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openApp, encodePng, train, runCli, noErrors, waitForStatus } from './helpers.js';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// A small seeded generator: the same photos at every run.
function random(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

// Two visibly different classes: warm orange "cats" and cool blue "others", with noise, and
// sizes that are not 64x64 (so the crop and the resize run).
function pixels(kind, i, width, height) {
  const rand = random((kind === 'cat' ? 1000 : 2000) + i);
  const base = kind === 'cat' ? [220, 130, 40] : [40, 90, 210];
  const rgb = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      rgb[p * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + (rand() - 0.5) * 80)));
    }
  }
  return rgb;
}

const PNGS = 10;
const JPEGS = 2;
const PER_CLASS = PNGS + JPEGS;
const TEST_FRACTION = 0.25;
const SEED = 7;
// round(0.25 * 12) = 3 photos of each class go to the test split (the rule of
// Dataset::from_photos / PhotoSet::build).
const N_TEST = 2 * Math.round(TEST_FRACTION * PER_CLASS);
const N_TRAIN = 2 * PER_CLASS - N_TEST;

let app;
let dir;
const files = { cat: [], 'non-cat': [] };

before(async () => {
  app = await openApp();
  dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-own-'));
  for (const kind of ['cat', 'non-cat']) {
    await mkdir(path.join(dir, 'photos', kind), { recursive: true });
    for (let i = 0; i < PNGS; i++) {
      const [w, h] = [64 + (i % 3) * 24, 64 + (i % 2) * 16];
      files[kind].push({ name: `${kind}-${String(i).padStart(2, '0')}.png`, mimeType: 'image/png',
        buffer: encodePng(w, h, pixels(kind, i, w, h)) });
    }
  }
  // JPEGs, encoded by the browser's own encoder.
  for (const kind of ['cat', 'non-cat']) {
    const jpegs = await app.page.evaluate(async ({ kind, n }) => {
      const out = [];
      for (let i = 0; i < n; i++) {
        const canvas = new OffscreenCanvas(100, 75);
        const ctx = canvas.getContext('2d');
        ctx.fillStyle = kind === 'cat' ? 'rgb(225,125,35)' : 'rgb(35,95,215)';
        ctx.fillRect(0, 0, 100, 75);
        ctx.fillStyle = kind === 'cat' ? 'rgb(190,110,60)' : 'rgb(70,80,180)';
        ctx.fillRect(10 + i * 20, 10, 30, 40);
        const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let bin = '';
        for (const b of bytes) bin += String.fromCharCode(b);
        out.push(btoa(bin));
      }
      return out;
    }, { kind, n: JPEGS });
    jpegs.forEach((b64, i) => files[kind].push({ name: `${kind}-j${i}.jpg`, mimeType: 'image/jpeg',
      buffer: Buffer.from(b64, 'base64') }));
  }
  // One file that is not a photo: skipped by both the page and the CLI, counted by both.
  files.cat.push({ name: 'cat-notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo\n') });
  for (const kind of ['cat', 'non-cat']) {
    for (const f of files[kind]) await writeFile(path.join(dir, 'photos', kind, f.name), f.buffer);
  }
});

after(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Drops files on an element through a real DataTransfer and drag events. */
async function dropOn(page, selector, list) {
  const payload = list.map((f) => ({ name: f.name, type: f.mimeType, base64: f.buffer.toString('base64') }));
  await page.evaluate(({ selector, items }) => {
    const dt = new DataTransfer();
    for (const { name, type, base64 } of items) {
      dt.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type }));
    }
    const zone = document.querySelector(selector);
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, { selector, items: payload });
}

async function ownSummary(page) {
  return page.$eval('[data-testid=own-summary]', (p) => ({
    text: p.textContent, sha256: p.dataset.sha256, train: Number(p.dataset.train), test: Number(p.dataset.test),
  }));
}

let exported;
let trained;

test('photos dropped and a folder chosen build a seeded split that trains', { timeout: 120_000 }, async () => {
  const { page } = app;
  // Once the service worker has filled its cache, nothing below may touch the network.
  await page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', null, { timeout: 30_000 });
  app.requests.length = 0;
  // Cats: dropped on their zone (files, as a drag from a file manager gives them).
  await dropOn(page, '#own-zone-cat', files.cat);
  // Others: a whole folder through the folder picker.
  await page.setInputFiles('#own-other-folder', path.join(dir, 'photos', 'non-cat'));
  await page.waitForFunction((n) => {
    const count = (id) => Number(document.querySelector(`#${id}`).dataset.count);
    return count('own-zone-cat') === n && count('own-zone-other') === n && !document.querySelector('#own-build').disabled;
  }, PER_CLASS, { timeout: 30_000, polling: 50 });

  // The grids show every decoded photo (drawn a frame after the counts), and the bad file by
  // name with its error.
  await page.waitForFunction((n) => document.querySelectorAll('#own-cat-grid canvas').length === n
    && document.querySelectorAll('#own-other-grid canvas').length === n, PER_CLASS, { timeout: 10_000 });
  assert.equal(await page.locator('#own-cat-grid canvas').count(), PER_CLASS);
  assert.equal(await page.locator('#own-other-grid canvas').count(), PER_CLASS);
  const bad = await page.$$eval('#own-cat-bad .own-bad', (lis) => lis.map((li) => li.textContent));
  assert.equal(bad.length, 1);
  assert.match(bad[0], /^cat-notes\.txt: unsupported image format|^cat-notes\.txt: cannot decode/);
  assert.match(await page.textContent('#own-cat-count'), /^12 photos \(1 could not be read\)/);
  // The dropped photos were not classified by the page-wide drop handler.
  assert.equal(await page.locator('[data-testid=result]').count(), 0);

  await page.fill('[data-testid=own-test-fraction]', String(TEST_FRACTION));
  await page.fill('[data-testid=own-seed]', String(SEED));
  await page.click('[data-testid=own-build]');
  await page.waitForFunction(() => document.querySelector('[data-testid=own-summary]').dataset.sha256, null,
    { timeout: 10_000 });
  const summary = await ownSummary(page);
  assert.equal(summary.train, N_TRAIN);
  assert.equal(summary.test, N_TEST);
  assert.match(summary.text, /train: 18 images, 9 cats \/ 9 non-cats; test: 6 images, 3 cats \/ 3 non-cats/);
  assert.match(summary.sha256, /^[0-9a-f]{64}$/);
  assert.equal(await page.isChecked('[data-testid=use-own]'), true);

  // The classes are far apart in colour (orange vs blue, noise ±40): a linear model separates
  // them completely, on the photos it trained on and on the held-out ones.
  trained = await train(page, { model: 'lr' });
  assert.deepEqual(trained, { train: '100.0%', test: '100.0%' });
  trained.finalCost = await page.textContent('[data-testid=final-cost]');
  // Photos, thumbnails and the dataset stayed in the page: no http(s) request at all (blob:
  // URLs are local).
  const network = app.requests.filter((r) => /^(https?|wss?):/i.test(r.url));
  assert.deepEqual(network, [], `requests while building a dataset: ${JSON.stringify(network)}`);
  assert.equal(noErrors(app), null);
});

test('the exported file is what the CLI writes for the same photos, and the CLI trains on it', { timeout: 60_000 }, async () => {
  const { page } = app;
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=own-export]')]);
  assert.equal(download.suggestedFilename(), 'my-dataset.safetensors');
  exported = path.join(dir, 'exported.safetensors');
  await download.saveAs(exported);
  const pageBytes = await readFile(exported);

  const cliOut = path.join(dir, 'cli.safetensors');
  const conv = await runCli(['convert', '--images', path.join(dir, 'photos'), '--test-fraction', String(TEST_FRACTION),
    '--seed', String(SEED), '-o', cliOut, '--json']);
  assert.equal(conv.code, 0, conv.stderr);
  const report = JSON.parse(conv.stdout);
  assert.deepEqual([report.train.n, report.test.n, report.skipped.length], [N_TRAIN, N_TEST, 1]);
  const cliBytes = await readFile(cliOut);
  assert.equal(sha256(pageBytes), sha256(cliBytes), 'the page and the CLI wrote different files');
  assert.equal(report.content_sha256, (await ownSummary(page)).sha256);

  // The CLI trains on the page's file with the page's settings and reaches the same model: the
  // same final cost to the 6 decimals the page shows, and the same accuracies.
  const model = path.join(dir, 'model.safetensors');
  const t = await runCli(['train', '--data', exported, '--model', 'lr', '--iters', '2000', '--lr', '0.005',
    '--seed', '1', '-o', model, '--json']);
  assert.equal(t.code, 0, t.stderr);
  const r = JSON.parse(t.stdout);
  assert.deepEqual([r.evaluation.n_train, r.evaluation.n_test], [N_TRAIN, N_TEST]);
  assert.equal(r.evaluation.train_accuracy, 1);
  assert.equal(r.evaluation.test_accuracy, 1);
  assert.equal(r.receipt.final_cost.toFixed(6), trained.finalCost);
  const e = await runCli(['eval', model, '--data', exported, '--json']);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).evaluation.test_accuracy, 1);
});

/** Drops files or folders from disk on an element, as a file manager does (Chromium's drag input). */
async function dropPaths(page, selector, paths) {
  const cdp = await page.context().newCDPSession(page);
  const zone = page.locator(selector);
  await zone.scrollIntoViewIfNeeded();
  const box = await zone.boundingBox();
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
  await cdp.detach();
}

test('the same photos given another way (folders dropped, files dropped) give the same dataset', { timeout: 60_000 }, async () => {
  const { page } = app;
  const built = await ownSummary(page);
  await page.click('[data-testid=own-clear]');
  await page.waitForFunction(() => document.querySelector('#own-cat-grid').childElementCount === 0 &&
    document.querySelector('#own-zone-cat').dataset.count === '0', null, { timeout: 5_000 });
  assert.equal(await page.isDisabled('[data-testid=own-build]'), true);
  // Non-cats in reverse order, one by one as files; cats as a whole folder dropped from disk.
  await dropOn(page, '#own-zone-other', [...files['non-cat']].reverse());
  await dropPaths(page, '#own-zone-cat', [path.join(dir, 'photos', 'cat')]);
  await page.waitForFunction((n) => {
    const count = (id) => Number(document.querySelector(`#${id}`).dataset.count);
    return count('own-zone-cat') === n && count('own-zone-other') === n && !document.querySelector('#own-build').disabled;
  }, PER_CLASS, { timeout: 30_000, polling: 50 });
  // Inside a dropped folder, photos are named by their path in it, as the CLI names them.
  // (The thumbnails are drawn a frame after the counts: wait for them.)
  await page.waitForFunction((n) => [...document.querySelectorAll('#own-cat-grid li')].filter((li) => li.title).length === n,
    PER_CLASS, { timeout: 10_000 });
  const names = await page.$$eval('#own-cat-grid li', (lis) => lis.map((li) => li.title));
  const bad = await page.$$eval('#own-cat-bad .own-bad', (lis) => lis.map((li) => li.textContent));
  assert.ok(names.length === PER_CLASS && names.every((n) => n.startsWith('cat/')), names.join(' '));
  assert.ok(bad.length === 1 && bad[0].startsWith('cat/'), bad.join(' '));
  // Forget the shown hash, so that waiting for one waits for this build.
  await page.$eval('[data-testid=own-summary]', (p) => { delete p.dataset.sha256; });
  await page.click('[data-testid=own-build]');
  await page.waitForFunction(() => document.querySelector('[data-testid=own-summary]').dataset.sha256, null,
    { timeout: 10_000 });
  assert.equal((await ownSummary(page)).sha256, built.sha256);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=own-export]')]);
  const again = path.join(dir, 'again.safetensors');
  await download.saveAs(again);
  assert.equal(sha256(await readFile(again)), sha256(await readFile(exported)));
  assert.equal(await page.locator('[data-testid=result]').count(), 0);
  assert.equal(noErrors(app), null);
});

test('the exported file loads back into a fresh page as the same dataset', { timeout: 60_000 }, async () => {
  const { page } = app;
  const before = await ownSummary(page);
  await page.reload();
  await waitForStatus(page, 'ready');
  assert.equal(await page.isDisabled('[data-testid=use-own]'), true);
  await page.setInputFiles('[data-testid=own-load]', exported);
  await page.waitForFunction(() => document.querySelector('[data-testid=own-summary]').dataset.sha256, null,
    { timeout: 10_000 });
  const loaded = await ownSummary(page);
  assert.equal(loaded.sha256, before.sha256);
  assert.deepEqual([loaded.train, loaded.test], [before.train, before.test]);
  assert.equal(loaded.text.replace(/^[^:]*: /, ''), before.text.replace(/^[^:]*: /, ''));
  assert.equal(await page.isChecked('[data-testid=use-own]'), true);
  const again = await train(page, { model: 'lr' });
  assert.equal(await page.textContent('[data-testid=final-cost]'), trained.finalCost);
  assert.deepEqual(again, { train: '100.0%', test: '100.0%' });

  // Back to the classic set: the classic exercise's accuracies again (02-train.test.js).
  await page.check('[data-testid=use-builtin]');
  await page.waitForFunction(() => /classic set/.test(document.getElementById('announcer').textContent), null,
    { timeout: 5_000 });
  assert.deepEqual(await train(page, { model: 'lr' }), { train: '99.0%', test: '70.0%' });
  assert.equal(noErrors(app), null);
});

test('a file that is not a dataset is refused with a clear message, and nothing is lost', async () => {
  const { page } = app;
  await page.setInputFiles('[data-testid=own-load]', { name: 'photo.safetensors', mimeType: 'application/octet-stream',
    buffer: Buffer.from('certainly not safetensors') });
  await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 5_000 });
  assert.match(await page.textContent('[data-testid=error]'), /invalid dataset file: not a readable safetensors file/);
  // The dataset loaded before is still there, and the classic set still in use.
  assert.equal(await page.isChecked('[data-testid=use-builtin]'), true);
  assert.equal(await page.isEnabled('[data-testid=use-own]'), true);
  assert.equal(await page.textContent('[data-testid=status]'), 'trained');
});

test('a dataset of three named classes loads with its names; the two-class models say so', async () => {
  const { page } = app;
  // Three classes from the CLI: one folder per class, named after it.
  const root = path.join(dir, 'three');
  const colours = { 'no fruit': [40, 160, 40], ripe: [220, 130, 40], unripe: [40, 90, 210] };
  for (const [name, base] of Object.entries(colours)) {
    await mkdir(path.join(root, name), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const rgb = Buffer.alloc(64 * 64 * 3);
      for (let p = 0; p < rgb.length; p++) rgb[p] = base[p % 3];
      await writeFile(path.join(root, name, `${i}.png`), encodePng(64, 64, rgb));
    }
  }
  const file = path.join(dir, 'three.safetensors');
  const converted = await runCli(['convert', '--images', root, '--test-fraction', '0.25', '-o', file]);
  assert.equal(converted.code, 0, converted.stderr);
  await page.setInputFiles('[data-testid=own-load]', file);
  await page.waitForFunction(() => /no fruit/.test(document.querySelector('[data-testid=own-summary]').textContent), null,
    { timeout: 10_000 });
  assert.match(await page.textContent('[data-testid=own-summary]'),
    /train: 9 images: 3 no fruit, 3 ripe, 3 unripe; test: 3 images: 1 no fruit, 1 ripe, 1 unripe/);
  // Training stops before any work, with the reason, and the model in use stays.
  await page.click('[data-testid=train]');
  await page.waitForFunction(() => /two-class/.test(document.querySelector('[data-testid=error]').textContent), null,
    { timeout: 10_000 });
  assert.match(await page.textContent('[data-testid=error]'), /3 classes \(no fruit, ripe, unripe\)/);
  assert.equal(await page.textContent('[data-testid=status]'), 'error');
});
