// The pretrained backbone in the page: never fetched at load or for logistic regression; a photo
// given with no model fetches it (with a progress bar), is classified by ImageNet's cat classes
// exactly as `purrceptron imagenet` does, and can show where it saw a cat; a second visit
// classifies from IndexedDB with the network to the file cut; a tampered file is refused with
// a clear message and the other models keep working.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ROOT, openApp, train, waitForStatus, chooseFiles, dropFiles, waitForCards, photoFromTestImage, runCli, noErrors,
} from './helpers.js';

const BACKBONE = path.join(ROOT, 'www', 'data', 'backbone.safetensors');
const isBackbone = (r) => /\/data\/backbone\.safetensors(\?|$)/.test(r.url);
const png = (name, i) => ({ name, mimeType: 'image/png', buffer: photoFromTestImage(i) });
const waitOfflineReady = (page) => page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true',
  null, { timeout: 30_000, polling: 50 });

const apps = [];
after(async () => { for (const a of apps) await a.close(); });

/** `purrceptron imagenet --json` on the photos: {name: {probability, label, class_name}}. */
async function cliImagenet(photos) {
  const dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-imagenet-'));
  try {
    const paths = [];
    for (const p of photos) {
      paths.push(path.join(dir, p.name));
      await writeFile(paths.at(-1), p.buffer);
    }
    const r = await runCli(['imagenet', '--backbone', BACKBONE, ...paths, '--json']);
    if (r.code !== 0) throw new Error(`purrceptron imagenet failed: ${r.stderr}`);
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => JSON.parse(l))
      .map((x) => [path.basename(x.path), x]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The RGBA bytes of a card's "what it sees" canvas, summed (a cheap fingerprint). */
const seenSum = (page, name) => page.$$eval('[data-testid=result]', (cards, want) => {
  const card = cards.find((c) => c.querySelector('.card-name').textContent === want);
  const canvas = card.querySelector('canvas.seen');
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] * ((i % 7) + 1);
  return { sum: s, side: canvas.width };
}, name);

const cardBy = (page) => page.$$eval('[data-testid=result]', (cards) => Object.fromEntries(cards.map((c) => [
  c.querySelector('.card-name').textContent,
  { by: c.dataset.by, text: c.querySelector('[data-testid=card-by]')?.textContent ?? null },
])));

test('no model: a photo fetches the backbone once, ImageNet classifies it as the CLI does; a second visit needs no network',
  { timeout: 180_000 }, async () => {
    const app = await openApp();
    apps.push(app);
    const { page, context } = app;
    await waitOfflineReady(page);
    assert.deepEqual(app.requests.filter(isBackbone), [], 'the backbone is fetched at page load');

    // Every text the download row shows, in order.
    await page.evaluate(() => {
      window.__backboneTexts = [];
      new MutationObserver(() => window.__backboneTexts.push(document.getElementById('backbone-text').textContent))
        .observe(document.getElementById('backbone-text'), { childList: true, characterData: true, subtree: true });
    });
    const photos = [png('tabby-ish.png', 1), png('other.png', 3)];
    const cli = await cliImagenet(photos);
    await dropFiles(page, photos);
    const cards = await waitForCards(page, 2, 60_000);
    // Once: the page's fetch, and the service worker's on its behalf when it controls the page.
    const fetched = app.requests.filter(isBackbone).length;
    assert.ok(fetched === 1 || fetched === 2, `the backbone was requested ${fetched} times`);

    const texts = await page.evaluate(() => window.__backboneTexts);
    const total = readFileSync(BACKBONE).length;
    const mb = (total / 1e6).toFixed(1);
    assert.ok(texts.some((t) => new RegExp(`^Downloading the pretrained network: [\\d.]+ MB of ${mb} MB`).test(t)),
      `no download progress shown: ${JSON.stringify(texts)}`);
    assert.match(await page.textContent('[data-testid=backbone-text]'), /^Pretrained network ready \(.*downloaded/);
    assert.equal(await page.$eval('[data-testid=backbone-progress]', (p) => p.value === p.max), true);

    const by = await cardBy(page);
    for (const card of cards) {
      const want = cli[card.name];
      assert.equal(by[card.name].by, 'imagenet');
      assert.match(by[card.name].text, new RegExp(`^no training yet: ImageNet's cat classes \\(${want.class_name} \\d+%\\)$`));
      assert.equal(card.label, want.label);
      const diff = Math.abs(card.probability - want.probability);
      console.log(`${card.name}: page ${card.probabilityText}, CLI ${want.probability}, |diff| ${diff.toExponential(2)}`);
      assert.ok(diff <= 1e-6, `${card.name}: page ${card.probability}, CLI ${want.probability}`);
    }

    // The heat map toggle: a real button, pressed state announced, the canvas redrawn.
    const before = await seenSum(page, 'tabby-ish.png');
    assert.equal(before.side, 128);
    const toggle = page.locator('[data-testid=result]', { hasText: 'tabby-ish.png' }).locator('[data-testid=heat-toggle]');
    assert.equal(await toggle.evaluate((b) => b.tagName), 'BUTTON');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    const on = await seenSum(page, 'tabby-ish.png');
    assert.notEqual(on.sum, before.sum, 'the heat map changed no pixel');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    assert.equal((await seenSum(page, 'tabby-ish.png')).sum, before.sum);

    // Once loaded, classifying makes no request at all (06-no-requests' rule).
    app.requests.length = 0;
    await chooseFiles(page, [png('more.png', 5)]);
    await waitForCards(page, 3);
    await page.waitForTimeout(300);
    const network = app.requests.filter((r) => /^(https?|wss?):/i.test(r.url));
    assert.deepEqual(network, [], `requests made while classifying: ${JSON.stringify(network)}`);

    // A second visit with the file out of reach: the service worker's copy deleted and the
    // network to the file cut; the copy kept in IndexedDB serves.
    await page.evaluate(async () => {
      for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const r of await cache.keys()) if (r.url.endsWith('/data/backbone.safetensors')) await cache.delete(r);
      }
    });
    await context.route('**/data/backbone.safetensors', (route) => route.abort());
    app.requests.length = 0;
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitForStatus(page, 'ready');
    await chooseFiles(page, [photos[0]]);
    const again = await waitForCards(page, 1, 60_000);
    assert.match(await page.textContent('[data-testid=backbone-text]'), /kept in this browser/);
    assert.ok(Math.abs(again[0].probability - cli['tabby-ish.png'].probability) <= 1e-6);
    assert.deepEqual(app.requests.filter(isBackbone), [], 'the second visit asked for the file');
    await context.unroute('**/data/backbone.safetensors');

    // Once a model is trained, new photos use it; the earlier card keeps its ImageNet label.
    await train(page, {});
    await chooseFiles(page, [png('after.png', 2)]);
    await waitForCards(page, 2);
    const labels = await cardBy(page);
    assert.equal(labels['after.png'].by, 'model');
    assert.equal(labels['after.png'].text, null);
    assert.equal(labels['tabby-ish.png'].by, 'imagenet');
    assert.equal(noErrors(app), null);
  });

test('logistic regression never fetches the backbone', { timeout: 120_000 }, async () => {
  const app = await openApp();
  apps.push(app);
  const { page } = app;
  await waitOfflineReady(page);
  await train(page, {});
  await chooseFiles(page, [png('p.png', 4)]);
  const [card] = await waitForCards(page, 1);
  assert.equal(card.error, undefined);
  assert.equal((await cardBy(page))['p.png'].by, 'model');
  assert.deepEqual(app.requests.filter(isBackbone), []);
  assert.equal(noErrors(app), null);
});

test('a tampered backbone file: a clear message on the waiting card, and logistic regression still trains and classifies it',
  { timeout: 120_000 }, async () => {
    const app = await openApp();
    apps.push(app);
    const { page, context } = app;
    // Same length, one word of the header changed: no longer a backbone file.
    const bytes = readFileSync(BACKBONE);
    const at = bytes.indexOf('purrceptron-backbone');
    assert.ok(at > 0);
    const tampered = Buffer.from(bytes);
    tampered.write('purrceptron-backbonX', at, 'latin1');
    await context.route('**/data/backbone.safetensors', (route) => route.fulfill({
      status: 200, contentType: 'application/octet-stream', body: tampered,
    }));
    await chooseFiles(page, [png('early.png', 0)]);
    // The photo waits for a model; its card says why and offers one.
    await page.waitForSelector('[data-testid=result][data-state=waiting] [data-testid=train-default]', { timeout: 30_000 });
    const message = await page.textContent('[data-testid=result] .card-detail');
    assert.match(message, /^No model yet, and the pretrained network downloaded from data\/backbone\.safetensors is not usable: .*not a backbone file/);
    assert.match(message, /Train one and this photo is classified as soon as it is trained: Train logistic regression now$/);
    // Not kept: nothing bad is left in IndexedDB for the next visit.
    const kept = await page.evaluate(() => new Promise((resolve) => {
      const r = indexedDB.open('purrceptron-files', 1);
      r.onupgradeneeded = () => r.result.createObjectStore('files');
      r.onsuccess = () => {
        const get = r.result.transaction('files').objectStore('files').getAllKeys();
        get.onsuccess = () => { resolve(get.result); r.result.close(); };
      };
    }));
    assert.deepEqual(kept, []);

    await train(page, {});
    await chooseFiles(page, [png('later.png', 0)]);
    // The waiting photo and the new one, both by the trained model (the same image: the same P).
    const cards = await waitForCards(page, 2);
    for (const card of cards) {
      assert.equal(card.error, undefined);
      assert.equal(card.by, 'model');
    }
    assert.equal(cards[0].probability, cards[1].probability);
    assert.ok(cards[0].probability >= 0 && cards[0].probability <= 1);
    assert.equal(noErrors(app), null);
  });
