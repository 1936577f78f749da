// The pretrained-feature model in the page: trained on the backbone's features it scores what
// `purrceptron train --model pretrained` scores (>= 97%), classifies photos as `purrceptron
// predict` does with the model saved from the page, shows its own heat map, keeps the wasm
// memory small during the extraction, retrains from the kept features without extracting
// again; a CLI-trained model file loads (fetching the backbone), one whose backbone hash was
// altered is refused with the reason.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ROOT, DATA, openApp, startTraining, waitForStatus, chooseFiles, waitForCards, photoFromTestImage, runCli,
  assertCardsSameAsCli, noErrors,
} from './helpers.js';

const BACKBONE = path.join(ROOT, 'www', 'data', 'backbone.safetensors');
const png = (name, i) => ({ name, mimeType: 'image/png', buffer: photoFromTestImage(i) });
const PHOTOS = [png('pre-a.png', 1), png('pre-b.png', 3), png('pre-c.png', 7)];
const MB = 1024 * 1024;

let dir;
const apps = [];
after(async () => {
  for (const a of apps) await a.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `purrceptron predict MODEL PHOTOS --backbone --json`: {name: {probability, label}}. */
async function cliPredict(model, photos) {
  const paths = [];
  for (const p of photos) {
    paths.push(path.join(dir, p.name));
    await writeFile(paths.at(-1), p.buffer);
  }
  const r = await runCli(['predict', model, ...paths, '--backbone', BACKBONE, '--json']);
  if (r.code !== 0) throw new Error(`purrceptron predict failed: ${r.stderr}`);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    .map((x) => [path.basename(x.path), { probability: x.probability, label: x.label }]));
}

let cliModel; // {file, evaluation}
async function cliTrained() {
  if (cliModel) return cliModel;
  dir ??= await mkdtemp(path.join(tmpdir(), 'purrceptron-pretrained-'));
  const file = path.join(dir, 'cli-pretrained.safetensors');
  const r = await runCli(['train', '--data', DATA, '--model', 'pretrained', '--backbone', BACKBONE, '-o', file, '--json']);
  if (r.code !== 0) throw new Error(`purrceptron train --model pretrained failed: ${r.stderr}`);
  cliModel = { file, ...JSON.parse(r.stdout) };
  return cliModel;
}

const percentText = (x) => `${(100 * x).toFixed(1)}%`;

/** Records every text of the training progress line (from now on). */
const recordProgress = (page) => page.evaluate(() => {
  window.__progressTexts = [];
  new MutationObserver(() => window.__progressTexts.push(document.getElementById('progress-text').textContent))
    .observe(document.getElementById('progress-text'), { childList: true, characterData: true, subtree: true });
});

const wasmBytes = (page) => page.evaluate(async () => (await window.__purrceptron.call('memory')).wasm_bytes);

/** From the click on Train to the status 'trained' in the DOM, timed in the page (from now on). */
const timeClickToResult = (page) => page.evaluate(() => {
  window.__clickToResult = null;
  const status = document.querySelector('[data-testid=status]');
  document.querySelector('[data-testid=train]').addEventListener('click', () => {
    const t0 = performance.now();
    const observer = new MutationObserver(() => {
      if (status.textContent !== 'trained') return;
      window.__clickToResult = performance.now() - t0;
      observer.disconnect();
    });
    observer.observe(status, { childList: true, characterData: true, subtree: true });
  }, { capture: true, once: true });
});

async function trainPretrained(page) {
  await recordProgress(page);
  await timeClickToResult(page);
  const t0 = Date.now();
  await startTraining(page, { model: 'pretrained' });
  // The memory while the backbone runs over the training images.
  await page.waitForFunction(() => /extracting|kept from an earlier/.test(document.getElementById('progress-text').textContent)
    || document.querySelector('[data-testid=status]').textContent === 'trained', null, { timeout: 120_000, polling: 20 });
  const during = await wasmBytes(page);
  await waitForStatus(page, 'trained', 180_000);
  return {
    ms: Date.now() - t0,
    pageMs: await page.evaluate(() => window.__clickToResult),
    during,
    texts: await page.evaluate(() => window.__progressTexts),
    done: await page.textContent('#progress-text'),
    test: await page.textContent('[data-testid=test-accuracy]'),
  };
}

test('pretrained features: the CLI\'s accuracy and probabilities, its heat map, small memory, the kept features',
  { timeout: 600_000 }, async () => {
    const cli = await cliTrained();
    const app = await openApp({ test: true });
    apps.push(app);
    const { page } = app;

    // The form offers it with the accuracy to expect, from the core's preset.
    const option = await page.textContent('[data-testid=model] option[value=pretrained]');
    assert.match(option, /^pretrained features \(EfficientNet-Lite0\) — ~98% on the test set$/);

    const first = await trainPretrained(page);
    console.log(`first training (backbone download + extraction + fit): ${first.ms} ms ` +
      `(${first.pageMs?.toFixed(0)} ms in the page from click to result); ${first.done}`);
    assert.ok(first.texts.some((t) => /^Stage 1 of 2: extracting features, image \d+ of 259$/.test(t)),
      `no extraction progress: ${JSON.stringify(first.texts.slice(0, 5))}`);
    assert.ok(first.texts.some((t) => /^Stage 2 of 2: fitting \d+%$/.test(t)), 'no fitting stage shown');
    assert.match(first.done, /features of 259 images \(both splits\) extracted at 128 px/);
    const peak = await wasmBytes(page);
    console.log(`wasm memory: ${(first.during / MB).toFixed(1)} MB during the extraction, ${(peak / MB).toFixed(1)} MB after training`);
    assert.ok(peak <= 128 * MB, `wasm memory ${peak} bytes`);

    // The page's accuracy is the CLI's (same dataset, same defaults).
    const accuracy = Number.parseFloat(first.test) / 100;
    console.log(`test accuracy: page ${first.test}, CLI ${percentText(cli.evaluation.test_accuracy)}`);
    assert.ok(accuracy >= 0.97, `test accuracy ${first.test}`);
    assert.equal(first.test, percentText(cli.evaluation.test_accuracy));

    // The inspection panel: each test image it gets wrong with its heat map beside it.
    await page.waitForSelector('#inspect:not([hidden])', { timeout: 60_000 });
    await page.waitForFunction(() => /pretrained/.test(document.getElementById('inspect-model').textContent),
      null, { timeout: 60_000 });
    const mistakes = await page.locator('#mistakes [data-testid=gallery-image]').count();
    assert.equal(mistakes, Math.round(50 * (1 - accuracy)));
    assert.equal(await page.locator('#mistakes [data-testid=gallery-heat]').count(), mistakes);

    // Photos: the CLI's probability with the model saved from the page.
    const bytes = await page.evaluate(async () => Array.from(new Uint8Array((await window.__purrceptron.call('export-model')).bytes)));
    const saved = path.join(dir, 'page-pretrained.safetensors');
    await writeFile(saved, Buffer.from(bytes));
    await chooseFiles(page, PHOTOS);
    const cards = await waitForCards(page, PHOTOS.length, 60_000);
    const predicted = await cliPredict(saved, PHOTOS);
    assertCardsSameAsCli(cards, predicted);
    for (const c of cards) {
      const diff = Math.abs(c.probability - predicted[c.name].probability);
      assert.ok(diff <= 1e-6, `${c.name}: |diff| ${diff}`);
    }
    // Its own heat map: the card's toggle redraws the 128-pixel image it saw.
    const toggle = page.locator('[data-testid=result]', { hasText: 'pre-a.png' }).locator('[data-testid=heat-toggle]');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    const side = await page.locator('[data-testid=result]', { hasText: 'pre-a.png' }).locator('canvas.seen')
      .evaluate((c) => c.width);
    assert.equal(side, 128);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    assert.equal((await page.locator('[data-testid=result][data-by=model]').count()), PHOTOS.length);

    // Again: the features are kept, only the head is fitted.
    const second = await trainPretrained(page);
    console.log(`second training (kept features): ${second.ms} ms ` +
      `(${second.pageMs?.toFixed(0)} ms in the page from click to result); ${second.done}`);
    console.log(`durations: first ${first.ms} ms, second ${second.ms} ms`);
    assert.ok(!second.texts.some((t) => /extracting/.test(t)), `extracted again: ${JSON.stringify(second.texts)}`);
    assert.match(second.done, /features kept from an earlier training/);
    assert.equal(second.test, first.test);

    // A cancel (here while fitting) keeps nothing new: photos use the previous model. The fit is
    // held (test mode) so that the cancel lands inside it, however fast it runs.
    await page.evaluate(() => window.__purrceptron.call('hold', { stage: 'fitting' }));
    await startTraining(page, { model: 'pretrained' });
    await page.waitForFunction(() => /fitting/.test(document.getElementById('progress-text').textContent),
      null, { timeout: 60_000, polling: 10 });
    await page.click('[data-testid=cancel]');
    await waitForStatus(page, 'cancelled', 60_000);
    const released = await page.evaluate(() => window.__purrceptron.call('hold', { stage: null }));
    assert.equal(released.type, 'held');
    assert.equal(released.stage, null);
    assert.match(await page.textContent('#progress-text'),
      /The pretrained-feature model needs every stage, so nothing was kept: photos are classified with the previous model\./);
    await page.click('#clear');
    await chooseFiles(page, [{ ...PHOTOS[0], name: 'again-a.png' }]);
    const [again] = await waitForCards(page, 1, 60_000);
    assert.equal(again.probability, predicted['pre-a.png'].probability);

    // After a reload the model in use is restored (the backbone from IndexedDB) and the features
    // come from IndexedDB: no extraction either.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitForStatus(page, 'trained', 60_000);
    const third = await trainPretrained(page);
    console.log(`after a reload (features from IndexedDB): ${third.ms} ms; ${third.done}`);
    assert.ok(!third.texts.some((t) => /extracting/.test(t)), `extracted after the reload: ${JSON.stringify(third.texts)}`);
    assert.match(third.done, /features kept from an earlier training/);

    // With the mirrors too: the kept features serve, so only the 209 mirrored training images go
    // through the backbone; the model is `purrceptron train --flip`'s (photos to 1e-6, the same
    // test accuracy), and its features are kept in turn.
    await page.selectOption('[data-testid=model]', 'pretrained');
    await page.check('[data-testid=flip]');
    const mirrored = await trainPretrained(page);
    console.log(`with mirrors (kept features, mirrors extracted): ${mirrored.ms} ms; ${mirrored.done}`);
    const images = mirrored.texts.map((t) => t.match(/^Stage 1 of 2: extracting features, image (\d+) of 468$/))
      .filter(Boolean).map((m) => Number(m[1]));
    assert.ok(images.length > 0 && images.every((n) => n >= 259), `extraction shown: ${JSON.stringify(mirrored.texts.slice(0, 5))}`);
    assert.match(mirrored.done, /those of the 209 mirrored training images extracted/);
    const flipFile = path.join(dir, 'cli-pretrained-flip.safetensors');
    const r = await runCli(['train', '--data', DATA, '--model', 'pretrained', '--flip', '--backbone', BACKBONE, '-o', flipFile, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mirrored.test, percentText(JSON.parse(r.stdout).evaluation.test_accuracy));
    // (No cards since the reload: the photos are new ones.)
    await chooseFiles(page, PHOTOS);
    const flipCards = await waitForCards(page, PHOTOS.length, 60_000);
    const flipPredicted = await cliPredict(flipFile, PHOTOS);
    for (const c of flipCards) {
      const diff = Math.abs(c.probability - flipPredicted[c.name].probability);
      assert.ok(diff <= 1e-6, `${c.name} with mirrors: |diff| ${diff}`);
    }
    const again2 = await trainPretrained(page);
    assert.ok(!again2.texts.some((t) => /extracting/.test(t)), `mirrors extracted again: ${JSON.stringify(again2.texts)}`);
    assert.match(again2.done, /features kept from an earlier training, so only/);
    assert.equal(noErrors(app), null);
  });

test('a CLI-trained pretrained model loads (fetching the backbone); an altered backbone hash is refused',
  { timeout: 300_000 }, async () => {
    const cli = await cliTrained();
    const app = await openApp();
    apps.push(app);
    const { page } = app;

    // A logistic regression first: it must keep working after the refusal below.
    await startTraining(page, { model: 'lr' });
    await waitForStatus(page, 'trained');

    const file = readFileSync(cli.file);
    const at = file.indexOf(cli.backbone_sha256);
    assert.ok(at > 0, 'the backbone sha256 is not in the model file');
    const altered = Buffer.from(file);
    // Another valid hash: one hex digit changed.
    altered.write(cli.backbone_sha256[0] === '0' ? '1' : '0', at, 'latin1');
    await page.setInputFiles('[data-testid=model-file]', { name: 'altered.safetensors', mimeType: 'application/octet-stream', buffer: altered });
    await page.waitForSelector('[data-testid=error]:not([hidden])', { timeout: 60_000 });
    const message = await page.textContent('[data-testid=error]');
    console.log(`altered hash: ${message}`);
    assert.match(message, /^Cannot load altered\.safetensors: this model was trained with backbone [0-9a-f]{64}; the backbone file is [0-9a-f]{64}/);
    await chooseFiles(page, [png('still-lr.png', 2)]);
    const [lrCard] = await waitForCards(page, 1);
    assert.equal(lrCard.error, undefined);

    await page.setInputFiles('[data-testid=model-file]', { name: 'cli-pretrained.safetensors', mimeType: 'application/octet-stream', buffer: file });
    await page.waitForFunction(() => /Using the saved model “cli-pretrained”/.test(document.querySelector('#status-detail')?.textContent ?? ''),
      null, { timeout: 60_000, polling: 50 });
    await page.click('#clear');
    await chooseFiles(page, PHOTOS);
    const cards = await waitForCards(page, PHOTOS.length, 60_000);
    const predicted = await cliPredict(cli.file, PHOTOS);
    assert.deepEqual(cards.map((c) => c.error), PHOTOS.map(() => undefined));
    assertCardsSameAsCli(cards, predicted);
    for (const c of cards) assert.ok(Math.abs(c.probability - predicted[c.name].probability) <= 1e-6);
    assert.equal(noErrors(app), null);
  });
