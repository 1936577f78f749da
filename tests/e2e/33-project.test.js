// Project files in the page: a dataset of three classes and the pretrained-feature model trained
// on it leave in one file ("Export project"), which `purrceptron unpack` splits into the very
// dataset file and the model file the page holds, and `pack` writes again byte for byte. In a
// fresh browser (its own profile: nothing kept), "Open a project…" makes the dataset your own and
// the model a saved model in use, listing its classes; photos get the probabilities
// `purrceptron predict PROJECT` gives. A dataset file or a truncated project is refused with a
// message, and the page goes on.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  colourPhoto, convertColourClasses, runCli, noErrors, openApp, waitForStatus, startTraining, chooseFiles, ROOT,
} from './helpers.js';

const BACKBONE = path.join(ROOT, 'www', 'data', 'backbone.safetensors');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

const apps = [];
let dir;
after(async () => {
  for (const a of apps) await a.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const CLASSES = { leaves: [40, 160, 40], oranges: [230, 130, 30], sky: [60, 110, 220] };

/** Waits for the page's error area to name `file`; returns its text. */
async function errorAbout(page, file) {
  await page.waitForFunction((f) => (document.querySelector('[data-testid=error]')?.textContent ?? '').includes(f),
    file, { timeout: 20_000 });
  return page.textContent('[data-testid=error]');
}

test('a project leaves one browser in one file and opens in another: the same dataset, the same model, the CLI\'s numbers',
  { timeout: 300_000 }, async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-project-'));
    const datasetFile = await convertColourClasses(dir, CLASSES, 'three.safetensors');

    // Browser one: the dataset loaded, the model trained, the project exported.
    const one = await openApp({ test: true });
    apps.push(one);
    await one.page.setInputFiles('[data-testid=own-load]', datasetFile);
    await one.page.waitForFunction(() => /oranges/.test(document.querySelector('[data-testid=own-summary]').textContent),
      null, { timeout: 10_000 });
    await startTraining(one.page, { model: 'pretrained' });
    await waitForStatus(one.page, 'trained', 120_000);
    const modelBytes = Buffer.from(await one.page.evaluate(async () => {
      const { bytes } = await window.__purrceptron.call('export-model');
      return Array.from(new Uint8Array(bytes));
    }));
    const [download] = await Promise.all([one.page.waitForEvent('download'), one.page.click('[data-testid=project-export]')]);
    assert.equal(download.suggestedFilename(), 'my-project.purrceptron');
    const projectFile = path.join(dir, 'mine.purrceptron');
    await download.saveAs(projectFile);
    const project = await readFile(projectFile);
    assert.equal(noErrors(one), null);

    // The CLI splits it into the very files, and packs them into the very same bytes.
    const out = path.join(dir, 'unpacked');
    const unpacked = await runCli(['unpack', projectFile, '-o', out]);
    assert.equal(unpacked.code, 0, unpacked.stderr);
    assert.equal(sha256(await readFile(path.join(out, 'dataset.safetensors'))), sha256(await readFile(datasetFile)));
    assert.equal(sha256(await readFile(path.join(out, 'model.safetensors'))), sha256(modelBytes));
    const repacked = path.join(dir, 'repacked.purrceptron');
    const packed = await runCli(['pack', '--data', path.join(out, 'dataset.safetensors'),
      '--model', path.join(out, 'model.safetensors'), '-o', repacked]);
    assert.equal(packed.code, 0, packed.stderr);
    assert.equal(sha256(await readFile(repacked)), sha256(project));

    // Browser two, a profile of its own: open the project.
    const two = await openApp();
    apps.push(two);
    const { page } = two;
    assert.equal(await page.locator('[data-testid=saved-model]').count(), 0);
    await page.setInputFiles('[data-testid=project-open]', projectFile);
    await waitForStatus(page, 'trained', 60_000);
    await page.waitForFunction(() => /Opened mine\.purrceptron/.test(document.querySelector('[data-testid=own-summary]').textContent),
      null, { timeout: 10_000 });
    const summarySha = await page.getAttribute('[data-testid=own-summary]', 'data-sha256');
    const cliSummary = await runCli(['eval', projectFile, '--backbone', BACKBONE, '--json']);
    assert.equal(cliSummary.code, 0, cliSummary.stderr);
    assert.equal(summarySha, JSON.parse(cliSummary.stdout).receipt.dataset_sha256);
    assert.equal(await page.locator('[data-testid=saved-model]').count(), 1);
    assert.match(await page.textContent('[data-testid=saved-model]'), /mine/);
    assert.match(await page.textContent('[data-testid=receipt]'), /classes: leaves, oranges, sky/);
    assert.equal(await page.getAttribute('[data-testid=saved-model]', 'aria-current'), 'true');

    // Photos: the probabilities `purrceptron predict PROJECT` gives.
    const photos = Object.entries(CLASSES).map(([name, base], i) => colourPhoto(`new-${name}.png`, base, 900 + i, 120, 90));
    await chooseFiles(page, photos);
    await page.waitForFunction(() => {
      const cards = [...document.querySelectorAll('[data-testid=result]')];
      return cards.length === 3 && cards.every((c) => c.dataset.state === 'done');
    }, null, { timeout: 60_000 });
    const cards = await page.$$eval('[data-testid=result]', (cs) => cs.map((c) => ({
      name: c.querySelector('.card-name').textContent, label: c.dataset.label, probabilities: JSON.parse(c.dataset.probabilities),
    })));
    const paths = [];
    for (const p of photos) {
      paths.push(path.join(dir, p.name));
      await writeFile(paths.at(-1), p.buffer);
    }
    const predicted = await runCli(['predict', projectFile, ...paths, '--backbone', BACKBONE, '--json']);
    assert.equal(predicted.code, 0, predicted.stderr);
    const cli = Object.fromEntries(predicted.stdout.trim().split('\n').map((l) => JSON.parse(l))
      .map((r) => [path.basename(r.path), r]));
    for (const card of cards) {
      assert.equal(card.label, card.name.replace(/^new-|\.png$/g, ''));
      assert.equal(card.label, cli[card.name].label);
      for (const name of Object.keys(CLASSES)) {
        const diff = Math.abs(card.probabilities[name] - cli[card.name].probabilities[name]);
        assert.ok(diff <= 1e-6, `${card.name} ${name}: |diff| ${diff}`);
      }
    }

    // A dataset file is not a project; nor is a project cut short. The page says so and keeps
    // its model and its dataset.
    await page.setInputFiles('[data-testid=project-open]', datasetFile);
    assert.match(await errorAbout(page, 'three.safetensors'), /Cannot open three\.safetensors: .*this is a dataset file, not a project/);
    const cut = path.join(dir, 'cut.purrceptron');
    await writeFile(cut, project.subarray(0, Math.floor(project.length / 2)));
    await page.setInputFiles('[data-testid=project-open]', cut);
    assert.match(await errorAbout(page, 'cut.purrceptron'), /Cannot open cut\.purrceptron: .*invalid project file/);
    assert.equal(await page.getAttribute('[data-testid=own-summary]', 'data-sha256'), summarySha);
    assert.equal(await page.locator('[data-testid=saved-model]').count(), 1);
    assert.equal(noErrors(two), null);
  });
