// The page loads from the real server with its security headers, the worker starts the
// WebAssembly module and the dataset, and nothing complains in the console.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, noErrors } from './helpers.js';

let app;
before(async () => { app = await openApp(); });
after(async () => { await app?.close(); });

test('the page becomes ready and shows the dataset', { timeout: 60_000 }, async () => {
  const { page } = app;
  console.log(`page load to ready: ${app.readyMs} ms`);
  assert.equal(await page.textContent('[data-testid=status]'), 'ready');

  const summary = await page.textContent('[data-testid=dataset]');
  assert.match(summary, /train: 209 images/);
  assert.match(summary, /test: 50 images/);
  assert.match(summary, /72 cats \/ 137 non-cats/);
  assert.match(summary, /33 cats \/ 17 non-cats/);

  // 24 sample canvases, each actually painted (not a blank 64x64).
  const samples = await page.$$eval('#samples canvas', (canvases) => canvases.map((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
    return { w: c.width, h: c.height, opaque: d[3] === 255, sum };
  }));
  assert.equal(samples.length, 24);
  for (const s of samples) {
    assert.deepEqual([s.w, s.h, s.opaque], [64, 64, true]);
    assert.ok(s.sum > 0, 'a sample image is blank');
  }
  const labels = await page.$$eval('#samples li span', (spans) => spans.map((s) => s.textContent));
  assert.ok(labels.every((l) => l === 'cat' || l === 'non-cat'), labels.join(','));
  assert.ok(labels.includes('cat') && labels.includes('non-cat'));

  // Controls are usable once ready; cancel only while training.
  assert.equal(await page.isEnabled('[data-testid=train]'), true);
  assert.equal(await page.isEnabled('[data-testid=cancel]'), false);
  assert.equal(await page.inputValue('[data-testid=iters]'), '2000');
  assert.equal(await page.inputValue('[data-testid=lr]'), '0.005');
  assert.equal(await page.inputValue('[data-testid=seed]'), '1');
  assert.equal(await page.isHidden('[data-testid=error]'), true);
  // The tests' hooks exist only in test mode (index.html?test, see www/protocol.js).
  assert.equal(await page.evaluate(() => typeof window.__purrceptron), 'undefined');
});

test('outside test mode the worker refuses the tests\' requests', { timeout: 30_000 }, async () => {
  // A worker of its own, started as the page starts it outside test mode (www/protocol.js).
  const replies = await app.page.evaluate(() => new Promise((resolve) => {
    const worker = new Worker('./worker.js', { type: 'module' });
    const seen = [];
    worker.onmessage = ({ data }) => {
      seen.push({ type: data.type, id: data.id, kind: data.kind, message: data.message });
      if (data.type === 'ready') {
        worker.postMessage({ type: 'crash', id: 1 });
        worker.postMessage({ type: 'memory', id: 2 });
      }
      if (seen.length === 3) {
        worker.terminate();
        resolve(seen);
      }
    };
  }));
  assert.deepEqual(replies, [
    { type: 'ready', id: undefined, kind: undefined, message: undefined },
    { type: 'error', id: 1, kind: 'internal', message: 'unknown request type "crash"' },
    { type: 'error', id: 2, kind: 'internal', message: 'unknown request type "memory"' },
  ]);
});

test('the page is served with its CSP and nosniff', async () => {
  const headers = app.response.headers();
  assert.equal(app.response.status(), 200);
  assert.match(headers['content-security-policy'], /default-src 'self'/);
  assert.match(headers['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(headers['content-security-policy'], /style-src 'self'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
});

test('every request stayed on the server, and nothing violated the CSP', async () => {
  const origin = new URL(app.url).origin;
  const foreign = app.requests.filter((r) => /^https?:/.test(r.url) && new URL(r.url).origin !== origin);
  assert.deepEqual(foreign, []);
  const paths = app.requests.map((r) => new URL(r.url).pathname);
  for (const p of ['/', '/main.js', '/style.css', '/worker.js', '/pkg/purrceptron.js', '/pkg/purrceptron_bg.wasm',
    '/data/catvnoncat.safetensors']) {
    assert.ok(paths.includes(p), `${p} was not requested: ${paths.join(' ')}`);
  }
  // A CSP violation (an inline style, say) is reported as a console error.
  assert.equal(noErrors(app), null);
});
