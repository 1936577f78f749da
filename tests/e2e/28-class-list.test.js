// Your own classes, made in the page: the class list starts with cats and everything else; the
// person renames them, adds a class (and removes one), gives each its photos, builds the
// dataset (the file `purrceptron convert --images` writes for the same folders, classes in the
// same order), trains the pretrained-feature model, and classifies a folder of held-out photos of
// each class right; its exported CSV is the one the CLI writes with the model it trains on the
// page's dataset file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  encodePng, runCli, noErrors, waitForStatus, startTraining, useAppAndTempDir, ROOT, classZone, renameClass,
} from './helpers.js';

const BACKBONE = path.join(ROOT, 'www', 'data', 'backbone.safetensors');
const ctx = useAppAndTempDir('class-list');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// A small seeded generator: the same photos at every run.
function random(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const CLASSES = { leaves: [40, 160, 40], oranges: [230, 130, 30], sky: [60, 110, 220] };

function png(base, seed, width, height) {
  const rand = random(seed);
  const rgb = Buffer.alloc(width * height * 3);
  for (let p = 0; p < rgb.length; p++) {
    rgb[p] = Math.max(0, Math.min(255, Math.round(base[p % 3] + (rand() - 0.5) * 90)));
  }
  return encodePng(width, height, rgb);
}

const zone = classZone;


test('classes named, added and removed in the page; trained on; a held-out folder classified right, its CSV the CLI\'s',
  { timeout: 240_000 }, async () => {
    const { app, dir } = ctx;
    const { page } = app;
    await waitForStatus(page, 'ready', 30_000);
    assert.deepEqual(await page.$$eval('[data-testid=class-name]', (is) => is.map((i) => i.value)), ['cat', 'non-cat']);
    assert.equal(await page.isDisabled(`${zone(1)} [data-testid=class-remove]`), true, 'two classes at least');

    await renameClass(page, 1, 'leaves');
    await renameClass(page, 2, 'oranges');
    await page.click('[data-testid=class-add]');
    await page.waitForSelector(zone(3));
    assert.equal(await page.inputValue(`${zone(3)} [data-testid=class-name]`), 'class 3');
    // Every class has its name, photos, folder and webcam controls.
    for (const id of ['class', 'class-name', 'class-remove', 'class-files', 'class-folder', 'class-webcam']) {
      assert.equal(await page.locator(`[data-testid=${id}]`).count(), 3, id);
    }
    await renameClass(page, 3, 'sky');
    // A name already taken is refused, and the class keeps its name.
    const third = page.locator(`${zone(3)} [data-testid=class-name]`);
    await third.fill('leaves');
    await third.press('Enter');
    await page.waitForFunction(() => /already a class named “leaves”/.test(document.querySelector('[data-testid=error]').textContent),
      null, { timeout: 5_000 });
    assert.equal(await third.inputValue(), 'sky');
    // A fourth class, added and removed again.
    await page.click('[data-testid=class-add]');
    await page.waitForSelector(zone(4));
    await page.click(`${zone(4)} [data-testid=class-remove]`);
    await page.waitForFunction(() => document.querySelectorAll('#own-zones > .own-zone').length === 3, null, { timeout: 5_000 });

    // 8 photos of each class, written to folders too for the CLI.
    const root = path.join(dir, 'photos');
    let seed = 1;
    for (const [k, [name, base]] of Object.entries(CLASSES).entries()) {
      await mkdir(path.join(root, name), { recursive: true });
      const files = [];
      for (let i = 0; i < 8; i++) {
        const buffer = png(base, seed++, 80 + 8 * (i % 3), 64 + 8 * (i % 2));
        await writeFile(path.join(root, name, `${i}.png`), buffer);
        files.push({ name: `${i}.png`, mimeType: 'image/png', buffer });
      }
      await page.setInputFiles(`${zone(k + 1)} input.own-files-input`, files);
    }
    await page.waitForFunction(() => [...document.querySelectorAll('#own-zones > .own-zone')].every((z) => z.dataset.count === '8')
      && !document.querySelector('#own-build').disabled, null, { timeout: 30_000 });
    await page.fill('[data-testid=own-test-fraction]', '0.25');
    await page.click('[data-testid=own-build]');
    await page.waitForFunction(() => /built/.test(document.querySelector('[data-testid=own-summary]').textContent), null,
      { timeout: 10_000 });
    assert.match(await page.textContent('[data-testid=own-summary]'),
      /train: 18 images: 6 leaves, 6 oranges, 6 sky; test: 6 images: 2 leaves, 2 oranges, 2 sky/);
    // The dataset file is the CLI's for the same folders (classes by name, the same split).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=own-export]')]);
    const exported = path.join(dir, 'page-dataset.safetensors');
    await download.saveAs(exported);
    const cliData = path.join(dir, 'cli-dataset.safetensors');
    const converted = await runCli(['convert', '--images', root, '--test-fraction', '0.25', '--seed', '1', '-o', cliData]);
    assert.equal(converted.code, 0, converted.stderr);
    assert.equal(sha256(await readFile(exported)), sha256(await readFile(cliData)));

    await startTraining(page, { model: 'pretrained' });
    await waitForStatus(page, 'trained', 120_000);
    assert.equal(await page.textContent('[data-testid=test-accuracy]'), '100.0%');

    // A folder of held-out photos, two of each class, classified and exported.
    const held = path.join(dir, 'held');
    await mkdir(held);
    for (const [name, base] of Object.entries(CLASSES)) {
      for (const i of [0, 1]) await writeFile(path.join(held, `${name}-${i}.png`), png(base, 500 + seed++, 120, 90));
    }
    await page.setInputFiles('[data-testid=folder-input]', held);
    await page.waitForFunction(() => /^6 of 6 photos classified\.$/.test(document.querySelector('[data-testid=folder-progress]').textContent),
      null, { timeout: 60_000 });
    const rows = await page.$$eval('[data-testid=folder-result]', (trs) => trs.map((tr) => [tr.children[0].textContent, tr.children[1].textContent]));
    assert.equal(rows.length, 6);
    for (const [file, label] of rows) assert.equal(label, /held\/(\w+)-/.exec(file)[1], `${file}: ${label}`);
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-results]')]);
    const pageCsv = path.join(dir, 'page.csv');
    await csvDownload.saveAs(pageCsv);
    const model = path.join(dir, 'cli-model.safetensors');
    const trained = await runCli(['train', '--data', exported, '--model', 'pretrained', '--backbone', BACKBONE, '-o', model]);
    assert.equal(trained.code, 0, trained.stderr);
    const cli = await runCli(['predict', model, 'held', '--csv', '--backbone', BACKBONE], { cwd: dir });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(await readFile(pageCsv, 'utf8'), cli.stdout);
    console.log(cli.stdout.split('\r\n').slice(0, 3).join('\n'));
    noErrors(app);
  });
