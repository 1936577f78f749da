#!/usr/bin/env node
// A folder of many photos classified in the page as a person does it: Debian's headless Chromium,
// the real server, a model trained in the page (logistic regression with its defaults, or the
// pretrained-feature model), then "Classify a whole folder…" given a folder of `photos` PNGs
// (50 drawings of the test set's images at 320 x 240, hard-linked under as many names as asked).
// At every thousand photos it prints the worker's WebAssembly memory, the page's JS heap after a
// garbage collection, and the longest main-thread task of the page so far (the Long Tasks API
// reports tasks over 50 ms; 0: none). The task in which Chromium fills the file input with the
// folder's files, before the page's code runs, is printed apart at the end. A benchmark, not a test: nothing is asserted. Needs `./build.sh build` and
// `npm ci` in tests/e2e.
//
//   node tests/bench/folder-bench.mjs [photos=5000] [lr|pretrained]

import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openApp, photoFromTestImage, train } from '../e2e/helpers.js';

const photos = Number(process.argv[2] ?? 5000);
const model = process.argv[3] ?? 'lr';
if (!Number.isInteger(photos) || photos < 1 || !['lr', 'pretrained'].includes(model)) {
  console.error('usage: node tests/bench/folder-bench.mjs [photos=5000] [lr|pretrained]');
  process.exit(2);
}
const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MB`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'purrceptron-folder-bench-'));
const folder = path.join(dir, 'photos');
const app = await openApp({ test: true });
try {
  await mkdir(folder);
  const originals = [];
  for (let i = 0; i < 50; i++) {
    originals.push(path.join(dir, `original-${i}.png`));
    await writeFile(originals[i], photoFromTestImage(i, 320, 240));
  }
  for (let i = 0; i < photos; i++) {
    await link(originals[i % 50], path.join(folder, `photo-${String(i).padStart(5, '0')}.png`));
  }
  const { page } = app;
  await train(page, { model }, 180_000);
  const cdp = await page.context().newCDPSession(page);
  // The forced garbage collections run on the main thread: their windows are not the page's.
  const gcWindows = [];
  const measure = async () => {
    const from = await page.evaluate(() => performance.now());
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize;
    gcWindows.push([from, await page.evaluate(() => performance.now())]);
    const wasm = (await page.evaluate(() => window.__purrceptron.call('memory'))).wasm_bytes;
    // Tasks that began before the change event are the browser filling the file input (Chromium
    // stats and wraps every file on the main thread first); the page's own come after.
    const longest = await page.evaluate((windows) => Math.max(0, ...window.__tasks
      .filter(([start, d]) => window.__change && start >= window.__change[0]
        && !windows.some(([a, b]) => start < b && start + d > a))
      .map(([, d]) => d)), gcWindows);
    return { heap, wasm, longest };
  };
  await page.evaluate(() => {
    window.__tasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__tasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask' });
    // Registered after the page's own listener: how long the change event took to reach us.
    document.getElementById('folder-input').addEventListener('change', (e) => {
      window.__change = [e.timeStamp, performance.now() - e.timeStamp];
    });
  });
  const done = () => page.evaluate(() => {
    const m = /^([\d,]+) of/.exec(document.querySelector('[data-testid=folder-progress]').textContent);
    return m ? Number(m[1].replaceAll(',', '')) : 0;
  });
  const before = await measure();
  console.log(`model: ${model}; ${photos} photos; before the folder: wasm ${mb(before.wasm)}, JS heap ${mb(before.heap)}`);
  console.log('photos done   wasm memory   JS heap    longest main-thread task of the page so far');
  const t0 = Date.now();
  await page.setInputFiles('[data-testid=folder-input]', folder);
  const marks = [];
  for (let k = 1000; k < photos; k += 1000) marks.push(k);
  marks.push(photos);
  for (const mark of marks) {
    while ((await done()) < mark) await page.waitForTimeout(100);
    const m = await measure();
    console.log(`${String(await done()).padStart(11)}   ${mb(m.wasm).padStart(11)}   ${mb(m.heap).padStart(8)}   ${m.longest.toFixed(0)} ms`);
  }
  const r = (xs) => JSON.stringify(xs.map((x) => (Array.isArray(x) ? x.map(Math.round) : Math.round(x))));
  console.log(`long tasks [start, duration] ms: ${r(await page.evaluate(() => window.__tasks))}; ` +
    `change event [at, handled in] ms: ${r(await page.evaluate(() => window.__change))}; ` +
    `forced garbage collections [from, to] ms: ${r(gcWindows)}`);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`${photos} photos in ${seconds.toFixed(1)} s (${(1000 * seconds / photos).toFixed(1)} ms a photo)`);
} finally {
  await app.close();
  await rm(dir, { recursive: true, force: true });
}
