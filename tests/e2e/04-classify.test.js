// Photos are decoded and classified in the worker: a good photo gets a probability and a label,
// files that are not images get their own error card, and one bad file stops nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openApp, train, chooseFiles, dropFiles, waitForCards, photoFromTestImage, encodePng, testImage,
  garbageFile, emptyFile, noErrors, cliPredictions, assertSameAsCli,
} from './helpers.js';

let app;
let cli; // the CLI's answers for the good photos, under the model the page trains (the defaults)
before(async () => {
  app = await openApp();
  cli = await cliPredictions([], [[0, 'early.png'], [1, 'cat-ish.png'], [2, 'good-1.png'], [3, 'good-2.png']]
    .map(([i, name]) => ({ name, buffer: photoFromTestImage(i) })));
});
after(async () => { await app?.close(); });

const photo = (name, index) => ({ name, mimeType: 'image/png', buffer: photoFromTestImage(index) });

test('before any training, with the pretrained network out of reach: the card waits, offers a training, then is classified', { timeout: 60_000 }, async () => {
  const { page, context } = app;
  // (With it, the photo is classified by ImageNet's cat classes: 19-backbone.test.js.)
  await context.route('**/data/backbone.safetensors', (route) => route.abort());
  try {
    await chooseFiles(page, [photo('early.png', 0)]);
    // The photo is kept: its card says why it waits and how to get a model.
    const card = page.locator('[data-testid=result]', { hasText: 'early.png' });
    await page.waitForSelector('[data-testid=result][data-state=waiting] [data-testid=train-default]', { timeout: 10_000 });
    const detail = await card.locator('.card-detail').textContent();
    assert.match(detail, /^No model yet, and the pretrained network \(data\/backbone\.safetensors\) could not be downloaded/);
    assert.match(detail, /Train one and this photo is classified as soon as it is trained: Train logistic regression now$/);
    assert.equal(await card.locator('.verdict').textContent(), 'Waiting for a model…');
    assert.equal(await page.textContent('[data-testid=status]'), 'ready');
    assert.equal(await page.isHidden('[data-testid=error]'), true);

    // One click trains the default model; the photo is then classified by it, as the CLI does.
    await card.locator('[data-testid=train-default]').click();
    const [early] = await waitForCards(page, 1, 30_000);
    assert.equal(early.by, 'model');
    assertSameAsCli(early, cli['early.png']);
    assert.equal(await page.textContent('[data-testid=status]'), 'trained');
    assert.equal(await page.inputValue('[data-testid=model]'), 'lr');
  } finally {
    await context.unroute('**/data/backbone.safetensors');
    // The browser logs the aborted request itself; that line is this test's doing, not a bug.
    for (let i = app.errors.length - 1; i >= 0; i--) {
      if (/Failed to load resource: net::ERR_FAILED/.test(app.errors[i])) app.errors.splice(i, 1);
    }
    await page.click('#clear', { timeout: 5_000 }).catch(() => {});
  }
});

test('a photo, a text file named .jpg and an empty file', { timeout: 60_000 }, async () => {
  const { page } = app;
  await train(page, {});
  assert.equal(await page.isHidden('[data-testid=error]'), true);
  await chooseFiles(page, [photo('cat-ish.png', 1), garbageFile(), emptyFile()]);
  const cards = await waitForCards(page, 3);
  const byName = Object.fromEntries(cards.map((c) => [c.name, c]));

  const good = byName['cat-ish.png'];
  assert.equal(good.error, undefined);
  assertSameAsCli(good, cli['cat-ish.png']);
  assert.ok(['cat', 'non-cat'].includes(good.label), good.label);
  assert.equal(good.label, good.probability > 0.5 ? 'cat' : 'non-cat');
  // Full precision, not the 3 decimals shown.
  assert.ok(good.probabilityText.length > 6, good.probabilityText);

  const garbage = byName['notes.jpg'];
  assert.equal(garbage.probability, undefined);
  assert.match(garbage.error, /unsupported image format|cannot decode image/);
  const empty = byName['empty.png'];
  assert.match(empty.error, /empty/);

  // The card shows the probability in words as well.
  const shown = await page.$eval('[data-testid=result][data-label]', (c) => c.querySelector('.probability').textContent);
  assert.equal(shown, `P(cat) = ${good.probability.toFixed(3)}`);
  assert.equal(await page.textContent('[data-testid=status]'), 'trained');
});

test('the canvas shows exactly the 64x64 image the model sees', async () => {
  const { page } = app;
  // A photo that is already 64x64 is its own preprocessed image.
  const img = testImage(7);
  await chooseFiles(page, [{ name: 'exact.png', mimeType: 'image/png', buffer: encodePng(64, 64, img.rgb) }]);
  await waitForCards(page, 4);
  const pixels = await page.$eval('[data-testid=result]', (card) => {
    const c = card.querySelector('canvas.seen');
    return Array.from(c.getContext('2d').getImageData(0, 0, 64, 64).data);
  });
  const rgb = pixels.filter((_, i) => i % 4 !== 3);
  assert.equal(rgb.length, img.rgb.length);
  let maxDiff = 0;
  for (let i = 0; i < rgb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(rgb[i] - img.rgb[i]));
  assert.equal(maxDiff, 0, 'the canvas differs from the 64x64 input');
});

test('a drop mixing good and bad files still classifies the good ones', { timeout: 30_000 }, async () => {
  const { page } = app;
  await page.click('#clear');
  assert.equal(await page.locator('[data-testid=result]').count(), 0);
  await dropFiles(page, [garbageFile(), photo('good-1.png', 2), emptyFile(), photo('good-2.png', 3)]);
  const cards = await waitForCards(page, 4);
  assert.deepEqual(cards.map((c) => c.name), ['notes.jpg', 'good-1.png', 'empty.png', 'good-2.png']);
  assert.ok(cards[0].error && cards[2].error);
  for (const c of [cards[1], cards[3]]) {
    assert.equal(c.error, undefined);
    assertSameAsCli(c, cli[c.name]);
  }
  // Results are announced to screen readers.
  assert.match(await page.textContent('[aria-live=polite]'), /good-2\.png: (cat|not a cat)/);
  assert.equal(noErrors(app), null);
});
