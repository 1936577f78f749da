#!/usr/bin/env node
// An own dataset of many photos across three classes, made and trained in the page as a person
// does it: Debian's headless Chromium, the real server, a folder of photos given to each class
// (drawings of the test set's images at 320 x 240, hard-linked under as many names as asked,
// each class a different third of them), the dataset built, the pretrained-feature model
// trained. Prints the worker's WebAssembly memory (its peak: wasm memory only grows) and the
// page's JS heap after a garbage collection, after the photos and after the training, with the
// time each took. A benchmark, not a test: nothing is asserted. Needs `./build.sh build` and
// `npm ci` in tests/e2e.
//
//   node tests/bench/dataset-bench.mjs [photos=2000]

import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { classZone, openApp, photoFromTestImage, startTraining, waitForStatus } from '../e2e/helpers.js';

const photos = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(photos) || photos < 30) {
  console.error('usage: node tests/bench/dataset-bench.mjs [photos=2000 (at least 30)]');
  process.exit(2);
}
const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MB`;
const CLASSES = 3;

const dir = await mkdtemp(path.join(os.tmpdir(), 'purrceptron-dataset-bench-'));
const app = await openApp({ test: true });
try {
  // 48 drawings, 16 a class; photo i of class c is drawing c * 16 + i % 16.
  const originals = [];
  for (let i = 0; i < 48; i++) {
    originals.push(path.join(dir, `original-${i}.png`));
    await writeFile(originals[i], photoFromTestImage(i, 320, 240));
  }
  const folders = [];
  for (let c = 0; c < CLASSES; c++) {
    folders.push(path.join(dir, `class-${c}`));
    await mkdir(folders[c]);
  }
  for (let i = 0; i < photos; i++) {
    const c = i % CLASSES;
    await link(originals[c * 16 + (i % 16)], path.join(folders[c], `photo-${String(i).padStart(5, '0')}.png`));
  }
  const { page } = app;
  const cdp = await page.context().newCDPSession(page);
  const measure = async (what, since) => {
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize;
    const wasm = (await page.evaluate(() => window.__purrceptron.call('memory'))).wasm_bytes;
    console.log(`${what.padEnd(34)} ${mb(wasm).padStart(10)} ${mb(heap).padStart(10)} ${((Date.now() - since) / 1000).toFixed(1).padStart(8)} s`);
  };
  console.log(`${photos} photos, ${CLASSES} classes`);
  console.log(`${''.padEnd(34)} ${'wasm'.padStart(10)} ${'JS heap'.padStart(10)} ${'time'.padStart(10)}`);
  await measure('start', Date.now());
  let t0 = Date.now();
  await page.click('[data-testid=class-add]');
  await page.waitForSelector(classZone(3));
  for (let c = 0; c < CLASSES; c++) await page.setInputFiles(`${classZone(c + 1)} input.own-folder-input`, folders[c]);
  await page.waitForFunction((n) => [...document.querySelectorAll('#own-zones > .own-zone')]
    .reduce((a, z) => a + Number(z.dataset.count), 0) === n && !document.querySelector('#own-build').disabled,
  photos, { timeout: 600_000, polling: 500 });
  await page.click('[data-testid=own-build]');
  await page.waitForFunction(() => /built/.test(document.querySelector('[data-testid=own-summary]').textContent), null,
    { timeout: 60_000 });
  await measure('photos added, dataset built', t0);
  t0 = Date.now();
  await startTraining(page, { model: 'pretrained' });
  await waitForStatus(page, 'trained', 1_800_000);
  await measure('pretrained-feature model trained', t0);
  console.log(`test accuracy ${await page.textContent('[data-testid=test-accuracy]')}`);
} finally {
  await app.close();
  await rm(dir, { recursive: true, force: true });
}
