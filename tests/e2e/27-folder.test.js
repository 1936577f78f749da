// A whole folder in the page: chosen with the folder picker (sub-folders included, hidden files
// skipped), classified one photo at a time with the model in use, counted per class (the counts
// filter the list), and exported as the CSV that `purrceptron predict MODEL FOLDER --csv` writes:
// the same bytes, a file that is not a photo included as a row with its error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DATA, runCli, noErrors, photoFromTestImage, useAppAndTempDir, openApp, waitForStatus,
} from './helpers.js';

const ctx = useAppAndTempDir('folder');

test('a folder is classified photo by photo, counted per class, and exported as the CLI\'s CSV, byte for byte',
  { timeout: 120_000 }, async () => {
    const { app, dir } = ctx;
    const { page } = app;
    // A model file from the CLI, put in use in the page.
    const model = path.join(dir, 'lr.safetensors');
    const trained = await runCli(['train', '--data', DATA, '-o', model]);
    assert.equal(trained.code, 0, trained.stderr);
    await page.setInputFiles('[data-testid=model-file]', {
      name: 'lr.safetensors', mimeType: 'application/octet-stream', buffer: await readFile(model),
    });
    await page.waitForFunction(() => /Using the saved model/.test(document.querySelector('#status-detail')?.textContent ?? ''),
      null, { timeout: 30_000 });

    // holiday/: 10 photos, more/ with 3 more, a text file and a hidden file.
    const root = path.join(dir, 'holiday');
    await mkdir(path.join(root, 'more'), { recursive: true });
    for (let i = 0; i < 10; i++) await writeFile(path.join(root, `photo ${i}.png`), photoFromTestImage(i));
    for (let i = 10; i < 13; i++) await writeFile(path.join(root, 'more', `p,${i}.png`), photoFromTestImage(i));
    await writeFile(path.join(root, 'notes.txt'), 'not a photo');
    await writeFile(path.join(root, '.DS_Store'), 'hidden');

    await page.setInputFiles('[data-testid=folder-input]', root);
    await page.waitForFunction(() => /^14 of 14 photos classified\.$/.test(document.querySelector('[data-testid=folder-progress]').textContent),
      null, { timeout: 60_000 });
    const filters = await page.$$eval('[data-testid=folder-filter]', (bs) => Object.fromEntries(bs.map((b) => [b.dataset.filter, Number(b.dataset.count)])));
    assert.equal(filters.all, 14);
    assert.equal(filters.errors, 1);
    assert.equal(filters['class:cat'] + filters['class:non-cat'], 13);
    assert.equal(await page.$$eval('[data-testid=folder-result]', (rows) => rows.length), 14);
    // A class's count filters the list to its photos.
    await page.click('[data-testid=folder-filter][data-filter="class:cat"]');
    const cats = await page.$$eval('[data-testid=folder-result]', (rows) => rows.map((r) => r.children[1].textContent));
    assert.equal(cats.length, filters['class:cat']);
    assert.ok(cats.every((c) => c === 'cat'));

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-results]')]);
    assert.equal(download.suggestedFilename(), 'results.csv');
    const exported = path.join(dir, 'page.csv');
    await download.saveAs(exported);
    const pageCsv = await readFile(exported, 'utf8');
    // Run from the folder's parent, so the CLI names the files as the page does.
    const cli = await runCli(['predict', model, 'holiday', '--csv'], { cwd: dir });
    assert.equal(cli.code, 2, 'notes.txt is not a photo');
    assert.equal(pageCsv, cli.stdout);
    const lines = pageCsv.split('\r\n');
    assert.equal(lines[0], 'file,class,non-cat,cat,error');
    assert.equal(lines.length, 1 + 14 + 1);
    assert.match(pageCsv, /\r\n"holiday\/more\/p,10\.png",(cat|non-cat),0\.\d{6},0\.\d{6},\r\n/);
    assert.match(pageCsv, /\r\nholiday\/notes\.txt,,,,"?unsupported image format/);
    assert.doesNotMatch(pageCsv, /DS_Store/);
    console.log(pageCsv.split('\r\n').slice(0, 4).join('\n'));
    noErrors(app);
  });

test('a browser without a folder picker: the folder buttons are off and say so; photos still work',
  { timeout: 60_000 }, async () => {
    const app = await openApp();
    try {
      const { page } = app;
      // As in an engine without the attribute: the page's feature check finds nothing.
      await page.context().addInitScript(() => { delete HTMLInputElement.prototype.webkitdirectory; });
      await page.reload();
      await waitForStatus(page, 'ready');
      const pickers = await page.$$eval('input[webkitdirectory]', (inputs) => inputs.map((i) => ({
        disabled: i.disabled, label: i.previousElementSibling.textContent, title: i.previousElementSibling.title,
      })));
      // The classify-a-folder button and each class zone's.
      assert.ok(pickers.length >= 3, JSON.stringify(pickers));
      for (const p of pickers) {
        assert.equal(p.disabled, true);
        assert.match(p.label, /\(not in this browser\)$/);
        assert.match(p.title, /^This browser has no folder picker: choose or drop the photos themselves\.$/);
      }
      // A class added later is made from the same template.
      await page.click('[data-testid=class-add]');
      assert.equal(await page.$$eval('input[webkitdirectory]', (inputs) => inputs.every((i) => i.disabled)), true);
      await page.setInputFiles('[data-testid=photos]', { name: 'a.png', mimeType: 'image/png', buffer: photoFromTestImage(0) });
      await page.waitForFunction(() => document.querySelector('[data-testid=result]')?.dataset.state === 'done', null,
        { timeout: 60_000 });
      noErrors(app);
    } finally {
      await app.close();
    }
  });
