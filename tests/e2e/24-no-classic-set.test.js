// A clone built without the classic set's two HDF5 files: the server has no
// data/catvnoncat.safetensors. The page still starts, its dataset panel says how to add the set,
// and everything that does not need it works: photos classified by the pretrained network, an
// own dataset built and trained on, a model file loaded and used, offline use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ROOT, openApp, encodePng, train, chooseFiles, waitForCards, photoFromTestImage, runCli, cliPredictions,
  assertSameAsCli, DATA,
} from './helpers.js';

let app;
let dir;

// Two classes far apart in colour (orange and blue, noise ±40), as in 11-own-dataset.test.js.
function photo(kind, i) {
  let s = (kind === 'cat' ? 3000 : 4000) + i;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const base = kind === 'cat' ? [220, 130, 40] : [40, 90, 210];
  const [w, h] = [80, 64];
  const rgb = Buffer.alloc(w * h * 3);
  for (let p = 0; p < rgb.length; p++) rgb[p] = Math.max(0, Math.min(255, Math.round(base[p % 3] + (rand() - 0.5) * 80)));
  return { name: `${kind}-${i}.png`, mimeType: 'image/png', buffer: encodePng(w, h, rgb) };
}

before(async () => {
  // www/ as the build leaves it, without the classic set (and its gzip sibling).
  dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-noset-'));
  await cp(path.join(ROOT, 'www'), path.join(dir, 'www'), {
    recursive: true,
    filter: (src) => !/catvnoncat\.safetensors/.test(path.basename(src)),
  });
  // build.json as build.sh writes it without the set: the file is not in the build's list.
  const list = path.join(dir, 'www', 'build.json');
  const manifest = JSON.parse(await readFile(list, 'utf8'));
  delete manifest.files['./data/catvnoncat.safetensors'];
  manifest.build = `${manifest.build}-noset`;
  await writeFile(list, JSON.stringify(manifest));
  app = await openApp({ dir: path.join(dir, 'www') });
});
after(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// The one expected failure: the worker asked for the classic set and got a 404.
const unexpected = () => app.errors.filter((e) => !/404/.test(e));

test('the page starts and says how to add the classic set', { timeout: 60_000 }, async () => {
  const { page } = app;
  assert.match(await page.textContent('[data-testid=dataset]'), /not on this server/);
  assert.equal(await page.isVisible('[data-testid=dataset-missing]'), true);
  assert.match(await page.textContent('[data-testid=dataset-missing]'), /\.\/build\.sh --data/);
  assert.equal(await page.isVisible('#samples'), false);
  assert.match(await page.textContent('#status-detail'), /without the classic set/);
  assert.equal(await page.isDisabled('[data-testid=use-builtin]'), true);

  // Train says what is missing instead of failing somewhere deeper.
  await page.click('[data-testid=train]');
  await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 10_000 });
  assert.match(await page.textContent('[data-testid=error]'), /no dataset to train on yet/);
  assert.equal(await page.getAttribute('[data-testid=status]', 'data-state'), 'ready');

  // The service worker still caches what there is, for offline use.
  await page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', null,
    { timeout: 30_000, polling: 50 });
  assert.deepEqual(unexpected(), []);
});

test('a photo with no model is classified by the pretrained network', { timeout: 60_000 }, async () => {
  const { page } = app;
  const first = { name: 'first.png', buffer: photoFromTestImage(1) };
  await chooseFiles(page, [{ ...first, mimeType: 'image/png' }]);
  const [card] = await waitForCards(page, 1, 45_000);
  assert.equal(card.error, undefined);
  assert.equal(card.by, 'imagenet');
  // `purrceptron imagenet` on the same file gives the same P(cat).
  const file = path.join(dir, first.name);
  await writeFile(file, first.buffer);
  const r = await runCli(['imagenet', '--backbone', path.join(ROOT, 'www', 'data', 'backbone.safetensors'), file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const cli = JSON.parse(r.stdout.trim());
  assert.ok(Math.abs(card.probability - cli.probability) <= 1e-6, `page ${card.probability}, CLI ${cli.probability}`);
});

test('an own dataset builds and trains; a model file loads and classifies', { timeout: 120_000 }, async () => {
  const { page } = app;
  await page.setInputFiles('#own-cat-files', Array.from({ length: 8 }, (_, i) => photo('cat', i)));
  await page.setInputFiles('#own-other-files', Array.from({ length: 8 }, (_, i) => photo('other', i)));
  await page.waitForFunction(() => !document.querySelector('#own-build').disabled, null, { timeout: 30_000, polling: 50 });
  await page.click('[data-testid=own-build]');
  await page.waitForFunction(() => document.querySelector('[data-testid=own-summary]').dataset.sha256, null,
    { timeout: 10_000 });
  assert.equal(await page.isChecked('[data-testid=use-own]'), true);
  assert.equal(await page.isDisabled('[data-testid=use-builtin]'), true);
  assert.deepEqual(await train(page, { model: 'lr' }), { train: '100.0%', test: '100.0%' });

  // A model the CLI trained on the classic set: the page uses it and agrees with the CLI.
  const model = path.join(dir, 'lr.safetensors');
  const trained = await runCli(['train', '--data', DATA, '-o', model]);
  assert.equal(trained.code, 0, trained.stderr);
  await page.setInputFiles('[data-testid=model-file]', { name: 'lr.safetensors', mimeType: 'application/octet-stream',
    buffer: await readFile(model) });
  await page.waitForFunction(() => /Using the saved model/.test(document.querySelector('#status-detail').textContent),
    null, { timeout: 10_000 });
  const photos = [{ name: 'second.png', buffer: photoFromTestImage(7) }];
  await writeFile(path.join(dir, 'second.png'), photos[0].buffer);
  await chooseFiles(page, photos.map((p) => ({ ...p, mimeType: 'image/png' })));
  const cards = await waitForCards(page, 2);
  const card = cards.find((c) => c.name === 'second.png');
  assert.equal(card.by, 'model');
  assertSameAsCli(card, (await cliPredictions([], photos))['second.png']);
  assert.deepEqual(unexpected(), []);
});
