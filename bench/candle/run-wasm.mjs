// Times the wasm build of the candle network in headless Chromium (one thread, SIMD).
// node run-wasm.mjs [BACKBONE] [N]; needs target/pkg from wasm-bindgen (README.md) and
// playwright-core (PLAYWRIGHT_CORE, default ../../tests/e2e/node_modules/playwright-core).
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE
  ?? path.join(here, '../../tests/e2e/node_modules/playwright-core'));
const backbone = process.argv[2] ?? '/work/cache/backbone-ref.safetensors';
const n = Number(process.argv[3] ?? 16);

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    const file = url.pathname === '/backbone' ? backbone
      : url.pathname.startsWith('/pkg/') ? path.join(here, 'target', url.pathname)
        : path.join(here, 'www', url.pathname === '/' ? 'index.html' : url.pathname);
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const port = server.address().port;
const profile = await mkdtemp(path.join(tmpdir(), 'candle-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log('page:', m.text()));
  await page.goto(`http://127.0.0.1:${port}/`);
  const result = await page.evaluate(async (n) => {
    const m = await import('/pkg/candle_bench.js');
    await m.default();
    m.load(new Uint8Array(await (await fetch('/backbone')).arrayBuffer()));
    const out = [navigator.userAgent];
    for (const groups of [false, true]) {
      out.push(m.features_line(128, groups));
      for (const batch of [1, 32]) {
        const count = groups ? Math.min(n, 4) : n;
        m.run(Math.min(batch, count), 128, batch, groups); // warm-up
        const t0 = performance.now();
        const done = m.run(count, 128, batch, groups);
        const ms = (performance.now() - t0) / done;
        out.push(`${groups ? 'depthwise=groups' : 'depthwise=shifts'} batch ${batch}: `
          + `${done} images: ${ms.toFixed(1)} ms/image, ${(2 * 125e6 / ms / 1e6).toFixed(2)} GFLOP/s`);
      }
    }
    return out;
  }, n);
  console.log(result.join('\n'));
} finally {
  await browser.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
}
