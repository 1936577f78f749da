// The worker is a single point of failure: when it is terminated (as the browser does to a worker
// out of memory) or throws outside any request, the page notices, says so, starts a new worker
// with the current model, and keeps the results on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openApp, train, startTraining, waitForStatus, chooseFiles, waitForCards, photoFromTestImage,
  cliPredictions, assertSameAsCli,
} from './helpers.js';

// Test mode: the page exposes its worker and the worker answers 'crash' (www/protocol.js).
let app;
let cli; // the CLI's answers under the network the page trains ([7], 300 iterations, seed 1)
before(async () => {
  app = await openApp({ test: true });
  cli = await cliPredictions(['--model', 'deep', '--layers', '7', '--iters', '300'],
    [6, 7].map((i) => ({ name: `photo-${i}.png`, buffer: photoFromTestImage(i) })));
});
after(async () => { await app?.close(); });

const photo = (name, index) => ({ name, mimeType: 'image/png', buffer: photoFromTestImage(index) });

async function waitForCrashMessage(page, timeout) {
  await page.waitForFunction(() => /stopped unexpectedly/.test(document.querySelector('[data-testid=error]').textContent),
    null, { timeout, polling: 50 });
  return page.textContent('[data-testid=error]');
}

let reference; // probability of photo 6 under the trained model

test('a terminated worker is noticed and replaced; the model and results are kept', { timeout: 90_000 }, async () => {
  const { page } = app;
  // Deep network: its weights come from a seeded training, so "the same model" is checkable.
  await train(page, { model: '2layer', iters: 300 });
  const accuracy = await page.textContent('[data-testid=test-accuracy]');
  await chooseFiles(page, [photo('before.png', 6)]);
  const [before] = await waitForCards(page, 1);
  assertSameAsCli({ ...before, name: 'photo-6.png' }, cli['photo-6.png']);
  reference = before.probability;

  await page.evaluate(() => {
    window.__oldWorker = window.__purrceptron.worker();
    window.__oldWorker.terminate();
  });
  // A photo sent to the dead worker waits, until the watchdog's ping goes unanswered (~16 s).
  await chooseFiles(page, [photo('lost.png', 8)]);
  const message = await waitForCrashMessage(page, 30_000);
  assert.match(message, /^The classifier stopped unexpectedly \(it stopped answering for more than 15 s\)\. It has been restarted with your current model; your results are kept\.$/);
  assert.equal(await page.evaluate(() => window.__purrceptron.worker() !== window.__oldWorker), true);
  await waitForStatus(page, 'trained', 30_000);

  // Results stay; the restored model classifies the same photo identically.
  await chooseFiles(page, [photo('after.png', 6)]);
  const cards = await waitForCards(page, 3);
  assert.deepEqual(cards.map((c) => c.name), ['after.png', 'lost.png', 'before.png']);
  assert.equal(cards[0].probability, reference);
  assert.equal(cards[1].error, 'the classifier stopped unexpectedly (it stopped answering for more than 15 s) and was restarted: try again');
  assert.equal(cards[2].probability, reference);
  assert.equal(await page.textContent('[data-testid=test-accuracy]'), accuracy);
});

test('an uncaught error in the worker: noticed at once, the model restored', { timeout: 60_000 }, async () => {
  const { page } = app;
  await page.click('#clear');
  const t0 = Date.now();
  await page.evaluate(() => { window.__purrceptron.call('crash').catch(() => {}); });
  const message = await waitForCrashMessage(page, 5_000);
  assert.match(message, /^The classifier stopped unexpectedly \(an uncaught error: .*deliberate crash.*\)\. It has been restarted with your current model/);
  console.log(`uncaught error noticed and worker restarted in ${Date.now() - t0} ms`);
  await waitForStatus(page, 'trained', 30_000);
  await chooseFiles(page, [photo('again.png', 6), photo('other.png', 7)]);
  const cards = await waitForCards(page, 2);
  assert.equal(cards[0].probability, reference);
  assertSameAsCli({ ...cards[1], name: 'photo-7.png' }, cli['photo-7.png']);
});

test('a crash during training: the training fails with a message, the previous model stays', { timeout: 90_000 }, async () => {
  const { page } = app;
  await page.click('#clear');
  await startTraining(page, { model: '4layer', iters: 1_000_000 });
  await waitForStatus(page, 'training', 5_000);
  await page.evaluate(() => { window.__purrceptron.call('crash').catch(() => {}); });
  // The training request fails, then the new worker is ready with the model of before.
  await waitForStatus(page, 'trained', 30_000);
  assert.match(await page.textContent('#progress-text'), /^Training failed\.$/);
  assert.match(await page.textContent('[data-testid=error]'), /stopped unexpectedly/);
  assert.equal(await page.isDisabled('[data-testid=train]'), false);
  assert.equal(await page.isDisabled('[data-testid=cancel]'), true);
  await chooseFiles(page, [photo('after-training-crash.png', 6)]);
  const [card] = await waitForCards(page, 1);
  assert.equal(card.probability, reference);
});
