// No photo is thrown away: a photo given while no model is in use gets a waiting card at once
// and is classified as soon as a model is: the saved model restored after a reload, the
// training in progress when it ends, or the default model trained from the card's button.
// Probabilities are compared with the native CLI's under the same model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openApp, train, startTraining, waitForStatus, chooseFiles, waitForCards, photoFromTestImage, noErrors,
  cliPredictions, assertCardsSameAsCli,
} from './helpers.js';

const photos = (prefix, indices) => indices.map((i) => ({ name: `${prefix}-${i}.png`, mimeType: 'image/png', buffer: photoFromTestImage(i) }));

/** The waiting cards: {name, reason, offer (whether it has the train-default button)}. */
const waitingCards = (page) => page.$$eval('[data-testid=waiting]', (cards) => cards.map((c) => ({
  name: c.querySelector('.card-name').textContent,
  state: c.dataset.state,
  reason: c.dataset.reason,
  offer: Boolean(c.querySelector('[data-testid=train-default]')),
})));

test('photos chosen right after a reload wait for the restored model, none lost', { timeout: 120_000 }, async () => {
  const app = await openApp();
  try {
    const { page } = app;
    await train(page, {});
    // The photos are chosen in the page at the very moment the status says 'ready' (the saved
    // model comes back a few hundred ms later here; a person would be slower, not faster).
    // Through the picker's own input, as chooseFiles gives them, from the page's first script.
    const given = photos('after-reload', [0, 1, 2, 3, 4]);
    await page.context().addInitScript((items) => {
      window.__waited = [];
      new MutationObserver((records) => {
        for (const r of records) {
          for (const node of r.addedNodes) if (node.dataset?.state === 'waiting') window.__waited.push(node.dataset.testid);
        }
        const status = document.querySelector('[data-testid=status]');
        if (window.__chosen || status?.textContent !== 'ready') return;
        window.__chosen = true;
        const dt = new DataTransfer();
        for (const { name, base64 } of items) {
          dt.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type: 'image/png' }));
        }
        const picker = document.querySelector('[data-testid=photos]');
        picker.files = dt.files;
        picker.dispatchEvent(new Event('change', { bubbles: true }));
      }).observe(document, { subtree: true, childList: true, characterData: true });
    }, given.map((p) => ({ name: p.name, base64: p.buffer.toString('base64') })));
    await page.reload({ waitUntil: 'domcontentloaded' });
    // Given before the saved model was back in use: the status says so when it is.
    const cards = await waitForCards(page, given.length);
    assert.equal(await page.textContent('[data-testid=status]'), 'trained');
    const waited = await page.evaluate(() => window.__waited);
    console.log(`cards that waited for the restored model: ${waited.length} of ${given.length}`);
    assert.equal(waited.length, given.length, 'the photos were given after the model was restored: nothing was tested');
    // A waiting card is not a result card.
    assert.ok(waited.every((id) => id === 'waiting'), waited.join(' '));
    assert.deepEqual(cards.map((c) => c.name).sort(), given.map((p) => p.name).sort());
    assert.ok(cards.every((c) => c.error === undefined), JSON.stringify(cards));
    assertCardsSameAsCli(cards, await cliPredictions([], given));
    assert.equal(await page.isHidden('[data-testid=error]'), true);
    assert.equal(noErrors(app), null);
  } finally {
    await app.close();
  }
});

test('photos given during the first training are classified when it ends', { timeout: 120_000 }, async () => {
  const app = await openApp();
  try {
    const { page } = app;
    const iters = 8000;
    await startTraining(page, { model: 'lr', iters });
    await waitForStatus(page, 'training', 5_000);
    const given = photos('during', [5, 6, 7]);
    await chooseFiles(page, given);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=waiting]').length === n, given.length,
      { timeout: 5_000, polling: 20 });
    const waiting = await waitingCards(page);
    // Still training: the cards say they wait for it, with no offer to train another model.
    assert.equal(await page.textContent('[data-testid=status]'), 'training', 'the training ended before the check');
    assert.deepEqual(waiting.map((c) => [c.reason, c.offer]), given.map(() => ['training', false]));
    assert.match(await page.textContent('#announcer'), /^3 photos are waiting for a model\. A model is training/);
    assert.equal(await page.locator('[data-testid=result]').count(), 0);

    await waitForStatus(page, 'trained', 90_000);
    const cards = await waitForCards(page, given.length);
    assertCardsSameAsCli(cards, await cliPredictions(['--iters', String(iters)], given));
    assert.equal(await page.isHidden('[data-testid=error]'), true);
    assert.equal(noErrors(app), null);
  } finally {
    await app.close();
  }
});

test('with no model, a waiting photo offers to train the default model; one click classifies it', { timeout: 120_000 }, async () => {
  const app = await openApp();
  try {
    const { page } = app;
    const given = photos('no-model', [8]);
    await chooseFiles(page, given);
    await page.waitForSelector('[data-testid=waiting] [data-testid=train-default]', { timeout: 5_000 });
    assert.deepEqual(await waitingCards(page), [{ name: 'no-model-8.png', state: 'waiting', reason: 'none', offer: true }]);
    assert.equal(await page.textContent('[data-testid=waiting] .verdict'), 'Waiting for a model…');
    assert.match(await page.textContent('#announcer'), /^1 photo is waiting for a model\. No model yet/);
    assert.equal(await page.isHidden('[data-testid=error]'), true);
    // The button's accessible name is its visible label.
    const button = page.getByRole('button', { name: 'Train the default model', exact: true });
    assert.equal(await button.count(), 1);
    assert.equal(await button.getAttribute('data-testid'), 'train-default');
    assert.equal(await button.isVisible(), true);

    // A cancelled training that keeps nothing (the learned-feature model) leaves the offer.
    await startTraining(page, { model: 'features' });
    await page.waitForFunction(() => document.querySelector('[data-testid=waiting]')?.dataset.reason === 'training',
      null, { timeout: 5_000, polling: 20 });
    assert.equal(await page.locator('[data-testid=train-default]').count(), 0);
    await page.click('[data-testid=cancel]');
    await waitForStatus(page, 'cancelled', 30_000);
    await page.waitForSelector('[data-testid=waiting] [data-testid=train-default]', { timeout: 5_000 });

    // The default model: logistic regression with its defaults, as the CLI trains it by default.
    await page.click('[data-testid=train-default]');
    await waitForStatus(page, 'trained', 60_000);
    assert.equal(await page.inputValue('[data-testid=model]'), 'lr');
    const cards = await waitForCards(page, 1);
    assertCardsSameAsCli(cards, await cliPredictions([], given));
    assert.equal(noErrors(app), null);
  } finally {
    await app.close();
  }
});
