// A flood of photos: 300 in one drop (sizes mixed up to 12 megapixels), three times over. The
// page shows "n of N" progress and stays responsive; the WebAssembly memory and the page's JS
// heap stay bounded and do not grow from one batch to the next. Prints the figures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, train, testImage, noErrors } from './helpers.js';

let app;
// Test mode: the worker answers 'memory' (www/protocol.js).
before(async () => { app = await openApp({ test: true }); });
after(async () => { await app?.close(); });

const MB = 1024 * 1024;
const COUNT = 300;
// Distinct encodings the 300 files cycle through: every 10th file is a 12-megapixel photo.
const SIZES = [
  [4000, 3000], [640, 480], [1024, 768], [300, 400], [2000, 1500],
  [800, 800], [1600, 1200], [128, 96], [3000, 2000], [480, 640],
];

test('300 photos in one drop, three times: bounded memory, progress, responsive', { timeout: 600_000 }, async () => {
  const { page, context } = app;
  await train(page, {});

  // The photos are made by the page's own JPEG encoder and kept as Blobs (not JS strings).
  await page.evaluate(async ({ sizes, images }) => {
    const encodings = [];
    for (const [k, [w, h]] of sizes.entries()) {
      const small = new OffscreenCanvas(64, 64);
      const data = new Uint8ClampedArray(64 * 64 * 4);
      const rgb = images[k % images.length];
      for (let i = 0; i < 64 * 64; i++) data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
      small.getContext('2d').putImageData(new ImageData(data, 64, 64), 0, 0);
      const big = new OffscreenCanvas(w, h);
      big.getContext('2d').drawImage(small, 0, 0, w, h);
      encodings.push(await big.convertToBlob({ type: 'image/jpeg', quality: 0.85 }));
    }
    window.__encodings = encodings;
  }, { sizes: SIZES, images: [0, 1, 2, 3, 4].map((i) => Array.from(testImage(i).rgb)) });

  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const jsHeap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'JSHeapUsedSize').value;
  };
  const wasmBytes = async () => (await page.evaluate(() => window.__purrceptron.call('memory'))).wasm_bytes;

  const batches = [];
  for (let b = 0; b < 3; b++) {
    if (b > 0) await page.click('#clear');
    // The test's own work (300 File objects) in a task of its own, outside the measurement.
    await page.evaluate(({ count, b }) => {
      window.__dt = new DataTransfer();
      for (let i = 0; i < count; i++) {
        const blob = window.__encodings[i % window.__encodings.length];
        window.__dt.items.add(new File([blob], `batch${b}-photo${String(i).padStart(3, '0')}.jpg`, { type: 'image/jpeg' }));
      }
    }, { count: COUNT, b });
    await page.evaluate(() => {
      window.__longTasks = [];
      window.__observer?.disconnect();
      window.__observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push(e.duration);
      });
      window.__observer.observe({ type: 'longtask' });
      const zone = document.getElementById('dropzone');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: window.__dt }));
      }
    });

    // Progress is shown as "Classifying n of 300…" while the worker reads the photos; a frame
    // round trip (the page's responsiveness) is timed at each sample.
    const seen = new Set();
    let worstFrame = 0;
    const t0 = Date.now();
    for (;;) {
      const { text, frameMs, done } = await page.evaluate(async (count) => {
        const start = performance.now();
        await new Promise((r) => requestAnimationFrame(() => r()));
        return {
          frameMs: performance.now() - start,
          text: document.querySelector('[data-testid=classify-progress]').textContent,
          done: document.querySelectorAll('[data-testid=result]').length === count &&
            [...document.querySelectorAll('[data-testid=result]')].every((c) => c.dataset.state !== 'pending'),
        };
      }, COUNT);
      worstFrame = Math.max(worstFrame, frameMs);
      seen.add(text);
      if (done) break;
      assert.ok(Date.now() - t0 < 240_000, `batch ${b} still running after 240 s: ${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - t0) / 1000;
    const progress = [...seen].filter((t) => t.startsWith('Classifying'));
    assert.ok(progress.length >= 3, `progress seen: ${[...seen].join(' | ')}`);
    for (const t of progress) assert.match(t, new RegExp(`^Classifying \\d+ of ${COUNT}…$`));
    assert.equal(await page.textContent('[data-testid=classify-progress]'), `Classified ${COUNT} photos.`);

    const cards = await page.$$eval('[data-testid=result]', (els) => els.map((c) => ({ state: c.dataset.state, error: c.dataset.error })));
    assert.equal(cards.length, COUNT);
    const failed = cards.filter((c) => c.state !== 'done');
    assert.deepEqual(failed, [], 'every photo is classified');
    const longTasks = await page.evaluate(() => window.__longTasks);
    batches.push({
      seconds, worstFrame, longest: Math.max(0, ...longTasks), longTasks: longTasks.length,
      wasm: await wasmBytes(), heap: await jsHeap(),
    });
  }

  for (const [i, b] of batches.entries()) {
    console.log(`batch ${i + 1}: ${COUNT} photos in ${b.seconds.toFixed(1)} s; wasm memory ${(b.wasm / MB).toFixed(1)} MB ` +
      `(its peak: WebAssembly memory never shrinks); page JS heap after GC ${(b.heap / MB).toFixed(1)} MB; ` +
      `longest main-thread task ${b.longest.toFixed(0)} ms (${b.longTasks} over 50 ms); slowest frame ${b.worstFrame.toFixed(0)} ms`);
  }
  const [, second, third] = batches;
  assert.ok(third.wasm < 256 * MB, `wasm memory ${third.wasm}`);
  assert.equal(third.wasm, second.wasm, 'the wasm memory grew between the second and third batches');
  // The JS heap fluctuates by a few hundred KB from GC timing; a leak of 300 cards would not.
  assert.ok(third.heap < second.heap + 2 * MB, `JS heap ${second.heap} -> ${third.heap}`);
  assert.ok(third.heap < 64 * MB, `JS heap ${third.heap}`);
  for (const b of batches) {
    assert.ok(b.longest < 250, `a main-thread task took ${b.longest} ms`);
    assert.ok(b.worstFrame < 500, `a frame took ${b.worstFrame} ms`);
  }
  assert.equal(noErrors(app), null);
});
