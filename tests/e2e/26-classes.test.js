// Own classes, more than two, in the page: a dataset of three named classes (made by `purrceptron
// convert --images`, one folder per class) trains the pretrained-feature model; the inspection
// panel draws the 3 x 3 confusion matrix; each photo's card names its class and gives every
// class's probability (`data-label`, `data-probabilities`), the numbers the CLI's model, trained
// on the same file, gives the same photos.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  colourPhoto, convertColourClasses, runCli, noErrors, waitForStatus, startTraining, chooseFiles, useAppAndTempDir, ROOT,
} from './helpers.js';

const BACKBONE = path.join(ROOT, 'www', 'data', 'backbone.safetensors');
const ctx = useAppAndTempDir('classes');

// Three classes a glance tells apart (leaves, oranges, sky), with noise, at sizes that are
// not 64x64 (so the crop and the resize run).
const CLASSES = { leaves: [40, 160, 40], oranges: [230, 130, 30], sky: [60, 110, 220] };

test('three classes: the pretrained-feature model trains on them in the page, and its cards give every class\'s probability, as the CLI\'s',
  { timeout: 180_000 }, async () => {
    const { app, dir } = ctx;
    const { page } = app;
    const file = await convertColourClasses(dir, CLASSES, 'three.safetensors');
    await page.setInputFiles('[data-testid=own-load]', file);
    await page.waitForFunction(() => /oranges/.test(document.querySelector('[data-testid=own-summary]').textContent),
      null, { timeout: 10_000 });

    await startTraining(page, { model: 'pretrained' });
    await waitForStatus(page, 'trained', 120_000);
    assert.equal(await page.textContent('[data-testid=test-accuracy]'), '100.0%');
    // The inspection panel: a row and a column per class, every test image on the diagonal.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=confusion-cell]').length === 9, null,
      { timeout: 30_000 });
    const cells = await page.$$eval('[data-testid=confusion-cell]', (bs) => bs.map((b) => ({
      right: b.dataset.actual === b.dataset.predicted, n: Number(b.textContent),
    })));
    assert.deepEqual(cells.filter((c) => !c.right).map((c) => c.n), [0, 0, 0, 0, 0, 0]);
    assert.equal(cells.filter((c) => c.right).reduce((a, c) => a + c.n, 0), 6);
    const headers = await page.$$eval('#confusion thead th', (ths) => ths.map((t) => t.textContent));
    assert.deepEqual(headers, ['predicted leaves', 'predicted oranges', 'predicted sky']);
    // round(0.25 * 8) = 2 test photos of each class, all right.
    assert.equal(await page.textContent('[data-testid=per-class]'),
      'Right per class: leaves 100.0% (2 of 2) · oranges 100.0% (2 of 2) · sky 100.0% (2 of 2).');
    // The saved model names its classes.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=receipt]')]
      .some((r) => /classes: leaves, oranges, sky/.test(r.textContent)), null, { timeout: 10_000 });

    // New photos, one of each class.
    const photos = Object.entries(CLASSES).map(([name, base], i) => colourPhoto(`new-${name}.png`, base, 900 + i, 120, 90));
    const before = await page.$$eval('[data-testid=result]', (c) => c.length);
    await chooseFiles(page, photos);
    await page.waitForFunction((want) => {
      const cards = [...document.querySelectorAll('[data-testid=result]')];
      return cards.length === want && cards.every((c) => c.dataset.state === 'done' || c.dataset.state === 'error');
    }, before + 3, { timeout: 60_000 });
    const cards = await page.$$eval('[data-testid=result]', (cs) => cs.slice(0, 3).map((c) => ({
      name: c.querySelector('.card-name').textContent,
      label: c.dataset.label,
      probability: Number(c.dataset.probability),
      probabilities: JSON.parse(c.dataset.probabilities),
      verdict: c.querySelector('.verdict').textContent,
      bars: c.querySelectorAll('meter').length,
    })));
    const paths = [];
    for (const p of photos) {
      paths.push(path.join(dir, p.name));
      await writeFile(paths.at(-1), p.buffer);
    }
    const model = path.join(dir, 'cli-three.safetensors');
    const trained = await runCli(['train', '--data', file, '--model', 'pretrained', '--backbone', BACKBONE, '-o', model]);
    assert.equal(trained.code, 0, trained.stderr);
    const predicted = await runCli(['predict', model, ...paths, '--backbone', BACKBONE, '--json']);
    assert.equal(predicted.code, 0, predicted.stderr);
    const cli = Object.fromEntries(predicted.stdout.trim().split('\n').map((l) => JSON.parse(l))
      .map((r) => [path.basename(r.path), r]));
    for (const card of cards) {
      const want = card.name.replace(/^new-|\.png$/g, '');
      assert.equal(card.label, want, `${card.name}: ${JSON.stringify(card)}`);
      assert.equal(card.verdict, want);
      assert.equal(card.bars, 3);
      assert.deepEqual(Object.keys(card.probabilities), Object.keys(CLASSES));
      const sum = Object.values(card.probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, `${sum}`);
      assert.equal(card.probability, card.probabilities[want]);
      const c = cli[card.name];
      assert.equal(c.label, card.label);
      for (const name of Object.keys(CLASSES)) {
        const diff = Math.abs(card.probabilities[name] - c.probabilities[name]);
        assert.ok(diff <= 1e-6, `${card.name} ${name}: page ${card.probabilities[name]}, CLI ${c.probabilities[name]}`);
      }
      console.log(`${card.name}: ${card.label} ${card.probability.toFixed(4)} (CLI ${c.probability.toFixed(4)})`);
    }
    noErrors(app);
  });
