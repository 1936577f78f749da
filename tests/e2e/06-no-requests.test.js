// Photos never leave the page: once the page and the dataset are loaded and a model is trained,
// classifying photos makes no network request at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, train, chooseFiles, dropFiles, waitForCards, photoFromTestImage, garbageFile, noErrors } from './helpers.js';

let app;
before(async () => { app = await openApp(); });
after(async () => { await app?.close(); });

test('classifying photos makes no HTTP request', { timeout: 60_000 }, async () => {
  const { page } = app;
  await train(page, {});
  // The service worker caches the build after a first visit: its fetches are not the
  // classifying's, so wait until it is done (on a busy machine it can outlast a training).
  await page.waitForFunction(() => document.documentElement.dataset.offlineReady === 'true', null,
    { timeout: 30_000 });
  app.requests.length = 0;

  await chooseFiles(page, [0, 1, 2, 3, 4].map((i) => ({ name: `p${i}.png`, mimeType: 'image/png', buffer: photoFromTestImage(i) })));
  await waitForCards(page, 5);
  await dropFiles(page, [{ name: 'dropped.png', mimeType: 'image/png', buffer: photoFromTestImage(9) }, garbageFile()]);
  await waitForCards(page, 7);
  // Let any late request (a thumbnail, a lazy fetch) happen before looking.
  await page.waitForTimeout(300);

  // Thumbnails are blob: object URLs of the local files: Playwright reports each as a request,
  // but they never leave the browser. Any http(s) or ws(s) request would be an upload or a leak.
  const network = app.requests.filter((r) => /^(https?|wss?):/i.test(r.url));
  assert.deepEqual(network, [], `requests made while classifying: ${JSON.stringify(network)}`);
  const other = app.requests.filter((r) => !/^(blob|data):/i.test(r.url));
  assert.deepEqual(other, []);
  assert.equal(noErrors(app), null);
});
