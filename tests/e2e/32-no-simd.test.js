// Engines that lack what the classifier needs (support.js): the page says what is missing and
// which browsers have it, instead of an engine's compile error or a page that never gets ready.
// Real engines with the feature turned off: WebKit (Safari's engine, which had no wasm SIMD
// before Safari 16.4) with JavaScriptCore's useWasmSIMD option off, and Firefox with
// WebAssembly turned off (its SIMD has no switch of its own any more).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, photoFromTestImage } from './helpers.js';
import { launch, waitFor, waitForStatus, noErrors, chooseFiles } from './engines.js';

/** Opens the page in `engine` started with `options` (launch's); runs `body(browser)`. */
async function withPage(engine, options, body) {
  const server = await startServer();
  let browser;
  try {
    browser = await launch(engine, { appOrigin: new URL(server.url).origin, ...options });
    await browser.goto(server.url);
    await body(browser);
  } finally {
    await browser?.close();
    await server.stop();
  }
}

// No key named `error`: WebDriver classic would take the result for an error of its own.
const pageState = () => ({
  message: document.querySelector('[data-testid=error]').textContent,
  errorShown: !document.querySelector('[data-testid=error]').hidden,
  detail: document.querySelector('#status-detail').textContent,
  trainDisabled: document.querySelector('[data-testid=train]').disabled,
  title: document.querySelector('h1').textContent,
});

const paths = (browser) => browser.requests.map((r) => { try { return new URL(r.url).pathname; } catch { return r.url; } });

test('webkit without wasm SIMD: the page says SIMD is missing and which browsers have it, and starts no worker',
  { timeout: 90_000 }, async () => {
    await withPage('webkit', { env: { JSC_useWasmSIMD: 'false' } }, async (b) => {
      await waitForStatus(b, 'error', 30_000);
      const page = await b.evaluate(pageState);
      console.log(`webkit, no SIMD: ${page.message}`);
      assert.equal(page.errorShown, true);
      assert.match(page.message, /^The classifier could not start: this browser's WebAssembly has no SIMD \(vector instructions\)/);
      assert.match(page.message, /Safari 16\.4, Firefox 89, Chrome and Edge 91 and later have it\. Update the browser or use another one\.$/);
      assert.doesNotMatch(page.message, /CompileError|opcode|at .*\.js:\d+/);
      assert.match(page.detail, /see the message below/);
      // The page itself is there; only what needs the classifier waits.
      assert.equal(page.title, 'Purrceptron');
      assert.equal(page.trainDisabled, true);
      // Neither the worker nor the module was even fetched.
      const asked = paths(b);
      assert.ok(asked.includes('/main.js'), JSON.stringify(asked));
      for (const p of ['/worker.js', '/pkg/purrceptron.js', '/pkg/purrceptron_bg.wasm']) {
        assert.ok(!asked.includes(p), `${p} was fetched: ${JSON.stringify(asked)}`);
      }

      // The workers check too, before their module is fetched (the benchmark pages start
      // their own): the same words come back as the worker's start-up error.
      const reply = await b.evaluate(() => new Promise((resolve) => {
        const w = new Worker('./worker.js', { type: 'module' });
        w.onmessage = (e) => { if (e.data.type !== 'pong') { w.terminate(); resolve(e.data); } };
        w.onerror = (e) => resolve({ type: 'error event', message: e.message });
      }));
      assert.equal(reply.type, 'startup-error', JSON.stringify(reply));
      assert.match(reply.message, /^this browser's WebAssembly has no SIMD .*Safari 16\.4.*\.$/);
      assert.ok(!paths(b).includes('/pkg/purrceptron_bg.wasm'), 'the worker fetched the module');
      assert.equal(await noErrors({ browser: b }), null);
    });
  });

test('firefox without WebAssembly: the page says so instead of never becoming ready', { timeout: 90_000 }, async () => {
  await withPage('firefox', { prefs: { 'javascript.options.wasm': false } }, async (b) => {
    await waitForStatus(b, 'error', 30_000);
    const page = await b.evaluate(pageState);
    console.log(`firefox, no WebAssembly: ${page.message}`);
    assert.match(page.message, /^The classifier could not start: this browser runs no WebAssembly \(it may be turned off in its settings\)/);
    assert.match(page.message, /Safari 16\.4, Firefox 89, Chrome and Edge 91 and later have it\.$/);
    assert.equal(page.trainDisabled, true);

    // A photo given anyway keeps its card, which says why it waits (it used to say a saved model
    // was being put back in use), and nothing is downloaded for it (not the 4.7 MB pretrained
    // network either).
    await chooseFiles(b, [{ name: 'given.png', mimeType: 'image/png', buffer: photoFromTestImage(1) }]);
    await waitFor(b, () => document.querySelectorAll('[data-testid=result]').length === 1, undefined,
      { what: 'the photo\'s card' });
    await new Promise((r) => setTimeout(r, 2000));
    const card = await b.evaluate(() => document.querySelector('[data-testid=result]').textContent);
    console.log(`firefox, no WebAssembly, a photo given: ${card.replace(/\s+/g, ' ').trim()}`);
    assert.match(card, /The classifier could not start here, so this photo cannot be classified in this browser: this browser runs no WebAssembly/);
    assert.doesNotMatch(card, /saved model/);
    assert.ok(!paths(b).includes('/data/backbone.safetensors'), JSON.stringify(paths(b)));
    assert.equal(await noErrors({ browser: b }), null);
  });
});
