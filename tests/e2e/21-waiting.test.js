// No photo is lost for want of a model: photos given while the page puts the saved model back in
// use after a reload, or while the first model trains, get their cards at once and are
// classified by that model as soon as it is in use, without being added again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openApp, train, startTraining, waitForStatus, chooseFiles, waitForCards, photoFromTestImage, noErrors,
  cliPredictions, assertSameAsCli,
} from './helpers.js';

const apps = [];
after(async () => {
  for (const a of apps) await a.close();
});

const photo = (name, index) => ({ name, mimeType: 'image/png', buffer: photoFromTestImage(index) });
const PHOTOS = [photo('w-a.png', 1), photo('w-b.png', 2), photo('w-c.png', 3), photo('w-d.png', 4)];

test('photos chosen right after a reload are classified by the restored model, none lost', { timeout: 120_000 }, async () => {
  const app = await openApp();
  apps.push(app);
  const { page } = app;
  await train(page, {});
  await chooseFiles(page, PHOTOS);
  const before = Object.fromEntries((await waitForCards(page, PHOTOS.length)).map((c) => [c.name, c.probability]));

  // At once after the reload: the worker is still starting and the saved model not yet back.
  await page.reload({ waitUntil: 'domcontentloaded' });
  const statusAtChoice = await page.textContent('[data-testid=status]');
  await chooseFiles(page, PHOTOS);
  const cards = await waitForCards(page, PHOTOS.length, 60_000);
  console.log(`status when the photos were chosen: ${statusAtChoice}; then: ${await page.textContent('[data-testid=status]')}`);
  assert.notEqual(statusAtChoice, 'trained', 'the photos were chosen too late to test anything');
  for (const c of cards) {
    assert.equal(c.by, 'model', `${c.name} was classified by ${c.by}`);
    assert.equal(c.probability, before[c.name], c.name);
  }
  assert.equal(noErrors(app), null);
});

test('photos given while the first model trains wait for it, then are classified by it', { timeout: 120_000 }, async () => {
  const app = await openApp({ test: true });
  apps.push(app);
  const { page } = app;
  // The training is held in its last stage (test mode) so that the photos surely arrive during it.
  await page.evaluate(() => window.__purrceptron.call('hold', { stage: 'fitting' }));
  await startTraining(page, { model: 'features' });
  await page.waitForFunction(() => /fitting/.test(document.getElementById('progress-text').textContent),
    null, { timeout: 60_000, polling: 20 });
  await chooseFiles(page, PHOTOS);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=result][data-state=waiting]').length === n,
    PHOTOS.length, { timeout: 10_000 });
  const detail = await page.textContent('[data-testid=result] .card-detail');
  assert.equal(detail, 'A model is training: this photo is classified as soon as it is trained.');

  await page.evaluate(() => window.__purrceptron.call('hold', { stage: null }));
  await waitForStatus(page, 'trained', 60_000);
  const cards = await waitForCards(page, PHOTOS.length, 30_000);
  // The learned-feature model's verdicts: the CLI's, trained with the same defaults.
  const cli = await cliPredictions(['--model', 'features'], PHOTOS);
  for (const c of cards) {
    assert.equal(c.by, 'model', `${c.name} was classified by ${c.by}`);
    assertSameAsCli(c, cli[c.name]);
  }
  assert.equal(noErrors(app), null);
});
