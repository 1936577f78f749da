// One session through every flow (a photo before any model, train, cancel, refused parameters,
// photos chosen, dropped and pasted, bad files, clearing) leaves the console free of errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openApp, train, startTraining, waitForStatus, chooseFiles, dropFiles, waitForCards, photoFromTestImage,
  garbageFile, emptyFile, cliPredictions, assertSameAsCli,
} from './helpers.js';

let app;
before(async () => { app = await openApp(); });
after(async () => { await app?.close(); });

test('no console errors across the flows', { timeout: 120_000 }, async () => {
  const { page } = app;
  const png = (name, i) => ({ name, mimeType: 'image/png', buffer: photoFromTestImage(i) });

  // No model yet: classified by the pretrained network and ImageNet's cat classes.
  await chooseFiles(page, [png('too-early.png', 0)]);
  await waitForCards(page, 1, 60_000);
  await train(page, { model: '2layer' });
  assert.match(await page.textContent('[data-testid=test-accuracy]'), /^\d+\.\d%$/);

  await startTraining(page, { model: '4layer', iters: 100000 });
  await waitForStatus(page, 'training', 5_000);
  // Photos dropped during a training use the previous model, between training steps.
  await dropFiles(page, [png('during.png', 4)]);
  await waitForCards(page, 2);
  await page.click('[data-testid=cancel]');
  await waitForStatus(page, 'cancelled', 3_000);

  await startTraining(page, { model: 'lr', iters: 0 });
  await waitForStatus(page, 'error', 5_000);
  assert.match(await page.textContent('[data-testid=error]'), /iterations = 0/);

  await train(page, { model: 'lr' });
  await chooseFiles(page, [png('a.png', 6), garbageFile(), emptyFile()]);
  await waitForCards(page, 5);

  // A pasted image, as a clipboard paste delivers it.
  const b64 = photoFromTestImage(8).toString('base64');
  await page.evaluate((data) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], 'image.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, b64);
  const cards = await waitForCards(page, 6);
  assert.equal(cards[0].name, 'image.png');
  // The last model is logistic regression with the defaults, as the CLI trains it by default.
  const cli = await cliPredictions([], [{ name: 'image.png', buffer: photoFromTestImage(8) }]);
  assertSameAsCli(cards[0], cli['image.png']);

  await page.click('#clear');
  assert.equal(await page.locator('[data-testid=result]').count(), 0);

  assert.deepEqual(app.errors, []);
});
