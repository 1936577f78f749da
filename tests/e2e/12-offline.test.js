// After a first visit the service worker holds the page, the WebAssembly module and the dataset:
// with the network cut (the browser offline and the server stopped), the page reloads, trains
// and classifies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openApp, waitForStatus, train, chooseFiles, waitForCards, photoFromTestImage, noErrors, cliPredictions, assertSameAsCli,
} from './helpers.js';

let app;
before(async () => { app = await openApp(); });
after(async () => { await app?.close(); });

test('offline after a first visit: reload, train, classify', { timeout: 120_000 }, async () => {
  const { page, context, server } = app;
  await page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', null,
    { timeout: 30_000, polling: 50 });
  const cached = await page.evaluate(async () => {
    const keys = [];
    for (const name of await caches.keys()) {
      for (const r of await (await caches.open(name)).keys()) keys.push(new URL(r.url).pathname);
    }
    return keys;
  });
  for (const p of ['/', '/main.js', '/worker.js', '/pkg/purrceptron.js', '/pkg/purrceptron_bg.wasm',
    '/data/catvnoncat.safetensors']) {
    assert.ok(cached.includes(p), `${p} is not cached: ${cached.join(' ')}`);
  }

  // A service worker script must be served as JavaScript, and the CSP must let it run.
  const sw = await page.evaluate(async () => {
    const r = await fetch('./sw.js', { cache: 'no-store' });
    return { type: r.headers.get('content-type'), csp: r.headers.get('content-security-policy') };
  });
  assert.match(sw.type, /^text\/javascript/);
  assert.match(app.response.headers()['content-security-policy'], /worker-src 'self'/);

  // Both ways of losing the network: the browser's offline switch, and no server at all (so a
  // request the offline switch would not cover cannot succeed either).
  await context.setOffline(true);
  await server.stop();
  app.requests.length = 0;
  const response = await page.reload({ waitUntil: 'domcontentloaded' });
  assert.equal(response?.fromServiceWorker(), true);
  await waitForStatus(page, 'ready', 30_000);
  assert.match(await page.textContent('[data-testid=dataset]'), /train: 209 images/);

  // The classic exercise's accuracies (as in 02-train.test.js), computed offline.
  assert.deepEqual(await train(page, { model: 'lr' }), { train: '99.0%', test: '70.0%' });
  await chooseFiles(page, [{ name: 'offline.png', mimeType: 'image/png', buffer: photoFromTestImage(1) }]);
  const [card] = await waitForCards(page, 1);
  assert.equal(card.error, undefined);
  const cli = await cliPredictions([], [{ name: 'offline.png', buffer: photoFromTestImage(1) }]);
  assertSameAsCli(card, cli['offline.png']);
  assert.match(await page.textContent('#announcer'), /offline\.png: (cat|not a cat)/);
  assert.equal(noErrors(app), null);
});
