// Saved models: kept in IndexedDB across reloads, renamed, chosen, deleted, downloaded and loaded
// back; model files move both ways between the page and the CLI; a file that is not a model is
// refused with a clear message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  train, waitForStatus, chooseFiles, waitForCards, photoFromTestImage, runCli, DATA, noErrors,
  cliPredictions, assertSameAsCli, useAppAndTempDir,
} from './helpers.js';

const ctx = useAppAndTempDir('keep');

const savedNames = (page) => page.$$eval('[data-testid=saved-model]', (items) => items.map((li) => ({
  name: li.querySelector('[data-testid=saved-name]')?.textContent,
  receipt: li.querySelector('[data-testid=receipt]')?.textContent,
  current: li.getAttribute('aria-current') === 'true',
})));

async function waitForSaved(page, n) {
  await page.waitForFunction((want) => document.querySelectorAll('[data-testid=saved-model]').length === want,
    n, { timeout: 10_000, polling: 20 });
  return savedNames(page);
}

const item = (page, index) => page.locator('[data-testid=saved-model]').nth(index);

async function download(page, index, to) {
  const [d] = await Promise.all([
    page.waitForEvent('download', { timeout: 10_000 }),
    item(page, index).locator('button[data-action=download]').click(),
  ]);
  await d.saveAs(to);
  return d.suggestedFilename();
}

async function loadModelFile(page, name, buffer) {
  await page.setInputFiles('[data-testid=model-file]', { name, mimeType: 'application/octet-stream', buffer });
}

test('a trained model is kept with its receipt, survives a reload, is renamed, chosen and deleted',
  { timeout: 120_000 }, async () => {
    const { page } = ctx.app;
    assert.equal(await page.isVisible('[data-testid=saved-empty]'), true);
    await train(page, {});
    let saved = await waitForSaved(page, 1);
    assert.equal(saved[0].current, true);
    // The receipt of logistic regression's default run: figures from the numpy reference
    // (tests/reference/numpy_reference.json: final_cost 0.13560807..., train 0.99043, test 0.7).
    assert.match(saved[0].receipt, /^logistic regression · 2,000 it, lr 0\.005, seed 1 · final cost 0\.135608 · train 99\.0%, test 70\.0% · data [0-9a-f]{12}… · \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);

    await item(page, 0).locator('button[data-action=rename]').click();
    await page.fill('[data-testid=rename-input]', 'first cat model');
    await page.press('[data-testid=rename-input]', 'Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid=saved-name]')?.textContent === 'first cat model');

    // A second run, shorter: both are listed, newest first.
    await train(page, { model: '2layer', iters: 200 });
    saved = await waitForSaved(page, 2);
    assert.match(saved[0].receipt, /^network \[7\] · 200 it, lr 0\.0075, seed 1 · /);
    assert.deepEqual(saved.map((s) => s.current), [true, false]);

    // Reload: both still there, the one last used is in use again and classifies.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitForStatus(page, 'trained');
    saved = await waitForSaved(page, 2);
    assert.equal(saved[1].name, 'first cat model');
    assert.deepEqual(saved.map((s) => s.current), [true, false]);

    // Choose the first model: the inspection panel and the classifier use it.
    await item(page, 1).locator('button[data-action=use]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=saved-model]')[1]?.getAttribute('aria-current') === 'true');
    await page.waitForFunction(() => document.querySelector('[data-testid=inspect-model]')?.textContent.startsWith('first cat model'));
    assert.equal(await page.textContent('[data-testid=inspect-test]'), '70.0%');
    assert.match(await page.textContent('#status-detail'), /first cat model/);

    await item(page, 0).locator('button[data-action=delete]').click();
    saved = await waitForSaved(page, 1);
    assert.equal(saved[0].name, 'first cat model');
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitForStatus(page, 'trained');
    saved = await waitForSaved(page, 1);
    assert.deepEqual(saved, [{ ...saved[0], name: 'first cat model', current: true }]);
    await chooseFiles(page, [{ name: 'photo.png', mimeType: 'image/png', buffer: photoFromTestImage(4) }]);
    const [card] = await waitForCards(page, 1);
    assert.equal(card.error, undefined);
    // "first cat model" is logistic regression with the defaults, as the CLI trains it by default.
    const cli = await cliPredictions([], [{ name: 'photo.png', buffer: photoFromTestImage(4) }]);
    assertSameAsCli(card, cli['photo.png']);
    assert.equal(noErrors(ctx.app), null);
  });

/** The tensors of a safetensors file (u64 LE header length, JSON header, data): name -> bytes. */
function tensorBytes(buffer) {
  const headerLen = Number(buffer.readBigUInt64LE(0));
  const header = JSON.parse(buffer.subarray(8, 8 + headerLen).toString('utf8'));
  return Object.fromEntries(Object.entries(header).filter(([name]) => name !== '__metadata__')
    .map(([name, t]) => [name, buffer.subarray(8 + headerLen + t.data_offsets[0], 8 + headerLen + t.data_offsets[1])]));
}

test('download, load back, and the CLI reads what the page wrote', { timeout: 120_000 }, async () => {
  const { page } = ctx.app;
  const file = path.join(ctx.dir, 'page.safetensors');
  const suggested = await download(page, 0, file);
  assert.equal(suggested, 'first-cat-model.safetensors');

  // The CLI evaluates the page's file: the same accuracy as the numpy reference (test 0.7).
  const evaluated = await runCli(['eval', file, '--data', DATA, '--json']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const cli = JSON.parse(evaluated.stdout);
  assert.equal(cli.evaluation.test_accuracy, 0.7);
  assert.equal(cli.receipt.test_accuracy, 0.7);
  assert.equal(cli.receipt.iterations_run, 2000);

  // The CLI trains the same model to the last bit: its weights and bias are the page's bytes
  // (the kernels and src/math.rs round alike natively and in WebAssembly).
  const cliFile = path.join(ctx.dir, 'cli-lr.safetensors');
  const trained = await runCli(['train', '--data', DATA, '-o', cliFile]);
  assert.equal(trained.code, 0, trained.stderr);
  const [pageTensors, cliTensors] = [tensorBytes(await readFile(file)), tensorBytes(await readFile(cliFile))];
  assert.deepEqual(Object.keys(pageTensors).sort(), ['W1', 'b1']);
  for (const name of ['W1', 'b1']) {
    assert.equal(pageTensors[name].length, name === 'W1' ? 12288 * 8 : 8);
    assert.ok(pageTensors[name].equals(cliTensors[name]), `${name} differs between the page and the CLI`);
  }

  // ...and predicts a photo as the page does with the same model.
  const photo = path.join(ctx.dir, 'photo-9.png');
  await writeFile(photo, photoFromTestImage(9));
  const predicted = await runCli(['predict', file, photo, '--json']);
  assert.equal(predicted.code, 0, predicted.stderr);
  const cliP = JSON.parse(predicted.stdout).probability;
  await page.click('#clear');
  await chooseFiles(page, [{ name: 'photo-9.png', mimeType: 'image/png', buffer: await readFile(photo) }]);
  const [card] = await waitForCards(page, 1);
  assert.ok(Math.abs(card.probability - cliP) <= 1e-5, `page ${card.probability} vs CLI ${cliP}`);

  // Loading the downloaded file back adds it, with the same receipt, and makes it current.
  const before = await savedNames(page);
  await loadModelFile(page, 'page.safetensors', await readFile(file));
  const saved = await waitForSaved(page, before.length + 1);
  assert.equal(saved[0].name, 'page');
  assert.equal(saved[0].current, true);
  assert.equal(saved[0].receipt, before[0].receipt);
  assert.equal(await page.isHidden('[data-testid=error]'), true);
});

test('a CLI-trained network loads in the page and is inspected there', { timeout: 120_000 }, async () => {
  const { page } = ctx.app;
  const file = path.join(ctx.dir, 'cli-deep.safetensors');
  const trained = await runCli(['train', '--data', DATA, '--model', 'deep', '--layers', '7', '--iters', '300', '-o', file, '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const cli = JSON.parse(trained.stdout);
  const before = (await savedNames(page)).length;
  await loadModelFile(page, 'cli-deep.safetensors', await readFile(file));
  const saved = await waitForSaved(page, before + 1);
  assert.equal(saved[0].name, 'cli-deep');
  assert.match(saved[0].receipt, /^network \[7\] · 300 it, lr 0\.0075, seed 1 · /);
  await page.waitForFunction(() => document.querySelector('[data-testid=inspect-model]')?.textContent.startsWith('cli-deep'));
  // The page's evaluation of the CLI's model is the CLI's own.
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  assert.equal(await page.textContent('[data-testid=inspect-train]'), pct(cli.evaluation.train_accuracy));
  assert.equal(await page.textContent('[data-testid=inspect-test]'), pct(cli.evaluation.test_accuracy));
  assert.equal(await page.locator('[data-testid=weight-image]').count(), 7);
  assert.equal(noErrors(ctx.app), null);
});

test('a file that is not a model gets a clear message and changes nothing', { timeout: 30_000 }, async () => {
  const { page } = ctx.app;
  const before = await savedNames(page);
  await loadModelFile(page, 'notes.safetensors', Buffer.from('Not a model, just notes about cats.\n'.repeat(10)));
  await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 5_000 });
  assert.match(await page.textContent('[data-testid=error]'),
    /^Cannot load notes\.safetensors: invalid model file: not a readable safetensors file .*Choose a model file/);
  assert.deepEqual(await savedNames(page), before);

  // A dataset file is a safetensors file, but not a model: the message says which it is.
  await loadModelFile(page, 'catvnoncat.safetensors', await readFile(DATA));
  await page.waitForFunction(() => /dataset file, not a model/.test(document.querySelector('[data-testid=error]')?.textContent));
  assert.deepEqual(await savedNames(page), before);
  // The model in use is still the last good one.
  assert.equal(await page.textContent('[data-testid=status]'), 'trained');
});

test('a saved model that no longer loads is named, and the others stay usable', { timeout: 60_000 }, async () => {
  const { page } = ctx.app;
  const before = await savedNames(page);
  // Written behind the page's back, as a damaged or foreign record would be; used most recently,
  // so the page tries it first on reload.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('purrceptron', 1);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('models', 'readwrite');
      tx.objectStore('models').add({ name: 'broken', info: {}, bytes: new ArrayBuffer(16), used: Date.now() + 1e6 });
      tx.oncomplete = () => { open.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }));
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => /^Cannot use the saved model broken: invalid model file: /
    .test(document.querySelector('[data-testid=error]')?.textContent), null, { timeout: 20_000 });
  const saved = await waitForSaved(page, before.length + 1);
  assert.equal(saved[0].name, 'broken');
  assert.equal(await page.textContent('[data-testid=status]'), 'ready');
  await item(page, 1).locator('button[data-action=use]').click();
  await waitForStatus(page, 'trained');
  assert.equal(await page.isHidden('[data-testid=error]'), true);
});
