// Shared machinery of the browser tests: the real server, Debian's Chromium driven by
// playwright-core (no browser is ever downloaded), a record of every request and console error,
// and test photos made from scratch (a small PNG encoder over pixels of the test split).

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'target', 'release', 'purrceptron');
export const DATA = path.join(ROOT, 'www', 'data', 'catvnoncat.safetensors');
export const CHROMIUM = process.env.PURRCEPTRON_CHROMIUM || '/usr/bin/chromium';

// ---- the server ---------------------------------------------------------------------------------

/** Chromium's flags in every test and benchmark: headless, no sandbox or GPU, nothing of its own
 * on the network (no first-run, background, component-update, sync or QUIC traffic). */
export const CHROMIUM_ARGS = Object.freeze(['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic']);

/**
 * Starts `purrceptron serve --dir DIR --port 0` (DIR relative to the repository, default www)
 * and resolves with {url, pid, answers, stop()} once it listens; with `log`, `answers` receives
 * every answer the server sends (`serve --log`).
 */
export function startServer({ dir = 'www', log = false } = {}) {
  const child = spawn(BIN, ['serve', '--dir', dir, '--port', '0', ...(log ? ['--log'] : [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the server did not start in 10 s\n${out}${err}`)), 10_000);
    const fail = (e) => {
      clearTimeout(timer);
      child.kill();
      reject(e);
    };
    // With `log`: every answer, {method, target, status, head, body} (bytes), in order.
    const answers = [];
    let partial = '';
    child.stderr.on('data', (d) => {
      if (!log) {
        err += d;
        return;
      }
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        const m = line.match(/^(\S+) (\S+) (\d{3}) (\d+) (\d+)$/);
        if (m) answers.push({ method: m[1], target: m[2], status: Number(m[3]), head: Number(m[4]), body: Number(m[5]) });
        else err += `${line}\n`;
      }
    });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Purrceptron is at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          pid: child.pid,
          answers,
          stop: () => new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill();
          }),
        });
      }
    });
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`the server exited (${code}) before listening\n${out}${err}`)));
  });
}

// ---- the browser ---------------------------------------------------------------------------------

/**
 * Starts the server and a fresh Chromium profile, opens the page and waits for `ready`.
 * `test: true` opens it in test mode (index.html?test, see www/protocol.js): only then does the
 * page define `window.__purrceptron` ({worker(), call(type, payload)}) and the worker answer
 * the `crash` and `memory` requests. `dir`: the folder to serve (default www/); `log`: the
 * server reports its answers (`server.answers`, see startServer); `args`: more Chromium switches
 * (the fake camera of the webcam tests).
 * Returns {page, context, server, url, requests, errors, readyMs, response, close}.
 */
export async function openApp({ width = 1280, height = 900, test = false, dir, log = false, args = [] } = {}) {
  const server = await startServer({ dir, log });
  const profile = await mkdtemp(path.join(tmpdir(), 'purrceptron-e2e-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...args],
      viewport: { width, height },
      timeout: 30_000,
    });
  } catch (e) {
    await server.stop();
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  const requests = [];
  const errors = [];
  context.on('request', (r) => requests.push({ url: r.url(), method: r.method(), type: r.resourceType() }));
  const page = context.pages()[0] ?? (await context.newPage());
  // Console messages of the page and of its dedicated worker both arrive here.
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('crash', () => errors.push('page crashed'));

  const t0 = Date.now();
  const response = await page.goto(test ? `${server.url}?test` : server.url, { waitUntil: 'domcontentloaded' });
  await waitForStatus(page, 'ready', 30_000);
  const readyMs = Date.now() - t0;

  return {
    page,
    context,
    server,
    url: server.url,
    requests,
    errors,
    readyMs,
    response,
    async close() {
      await context.close().catch(() => {});
      await server.stop();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the status element reads `name`; on timeout says what it reads instead. */
export async function waitForStatus(page, name, timeout = 30_000) {
  try {
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid=status]')?.textContent === want,
      name,
      { timeout, polling: 20 },
    );
  } catch (e) {
    const status = await page.textContent('[data-testid=status]').catch(() => '?');
    const error = await page.textContent('[data-testid=error]').catch(() => '?');
    throw new Error(`status did not become '${name}' within ${timeout} ms: it is '${status}' (error area: '${error}')`);
  }
}

/** Selects a model, fills the fields given, presses Train (without waiting for the end). */
export async function startTraining(page, { model = 'lr', iters, lr, seed, hidden } = {}) {
  await page.selectOption('[data-testid=model]', model);
  if (hidden !== undefined) await page.fill('#hidden', hidden);
  if (iters !== undefined) await page.fill('[data-testid=iters]', String(iters));
  if (lr !== undefined) await page.fill('[data-testid=lr]', String(lr));
  if (seed !== undefined) await page.fill('[data-testid=seed]', String(seed));
  await page.click('[data-testid=train]');
}

/** Trains and waits for `trained`; returns the accuracies as shown. */
export async function train(page, options = {}, timeout = 60_000) {
  await startTraining(page, options);
  await waitForStatus(page, 'trained', timeout);
  return {
    train: await page.textContent('[data-testid=train-accuracy]'),
    test: await page.textContent('[data-testid=test-accuracy]'),
  };
}

/** Settled result cards (classified or failed), newest batch first, as plain objects. */
export async function settledCards(page) {
  return page.$$eval('[data-testid=result]', (cards) => cards
    .filter((c) => c.dataset.state === 'done' || c.dataset.state === 'error')
    .map((c) => ({
      name: c.querySelector('.card-name')?.textContent,
      by: c.dataset.by,
      probability: c.dataset.probability === undefined ? undefined : Number(c.dataset.probability),
      probabilityText: c.dataset.probability,
      label: c.dataset.label,
      error: c.dataset.error,
    })));
}

/** Waits until `n` result cards exist and each is classified or failed (none pending or waiting). */
export async function waitForCards(page, n, timeout = 30_000) {
  await page.waitForFunction((want) => {
    const cards = document.querySelectorAll('[data-testid=result]');
    return cards.length === want && [...cards].every((c) => c.dataset.state === 'done' || c.dataset.state === 'error');
  }, n, { timeout, polling: 20 });
  return settledCards(page);
}

/** Gives files to the file input, as a person choosing them would. */
export async function chooseFiles(page, files) {
  await page.setInputFiles('[data-testid=photos]', files.map((f) => ({
    name: f.name, mimeType: f.mimeType ?? 'application/octet-stream', buffer: f.buffer,
  })));
}

/** Drops files on the drop zone through a real DataTransfer and drag events. */
export async function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: f.name, type: f.mimeType ?? '', base64: f.buffer.toString('base64') }));
  await page.evaluate((items) => {
    const dt = new DataTransfer();
    for (const { name, type, base64 } of items) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], name, { type }));
    }
    const zone = document.getElementById('dropzone');
    zone.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
    zone.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    zone.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, payload);
}

// ---- test photos -------------------------------------------------------------------------------

let crcTable;
function crc32(buf) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A truecolour 8-bit PNG of `rgb` (row-major, 3 bytes a pixel). */
export function encodePng(width, height, rgb) {
  if (rgb.length !== width * height * 3) throw new Error('encodePng: wrong number of bytes');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  // compression, filter and interlace methods: 0
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

let datasetCache;
/** Tensor `name` of the built dataset blob: {shape, bytes} (safetensors: u64 LE header length, JSON, data). */
export function datasetTensor(name) {
  datasetCache ??= readFileSync(DATA);
  const headerLen = Number(datasetCache.readBigUInt64LE(0));
  const header = JSON.parse(datasetCache.subarray(8, 8 + headerLen).toString('utf8'));
  const t = header[name];
  if (!t) throw new Error(`no tensor ${name} in ${DATA}: ${Object.keys(header).join(', ')}`);
  const start = 8 + headerLen;
  return { dtype: t.dtype, shape: t.shape, bytes: datasetCache.subarray(start + t.data_offsets[0], start + t.data_offsets[1]) };
}

/** Image `index` of the test split, 64x64 RGB. */
export function testImage(index) {
  const { shape, bytes } = datasetTensor('test_x');
  const [, h, w, c] = shape;
  const size = h * w * c;
  return { width: w, height: h, rgb: Buffer.from(bytes.subarray(index * size, (index + 1) * size)) };
}

/** Label (0/1) of image `index` of the test split. */
export function testLabel(index) {
  return datasetTensor('test_y').bytes[index];
}

/** Nearest-neighbour resize of a 64x64 RGB image to width x height: a "photo" to classify. */
export function upscale({ width: sw, height: sh, rgb }, width, height) {
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(sh - 1, Math.floor((y * sh) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(sw - 1, Math.floor((x * sw) / width));
      rgb.copy(out, (y * width + x) * 3, (sy * sw + sx) * 3, (sy * sw + sx) * 3 + 3);
    }
  }
  return out;
}

/** A 256x192 PNG photo made by upscaling test image `index`. */
export function photoFromTestImage(index, width = 256, height = 192) {
  return encodePng(width, height, upscale(testImage(index), width, height));
}

/** A seeded generator of numbers in [0, 1): the same photos at every run. */
export function seededRandom(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * A `width x height` PNG of one colour (`base`, RGB) with noise drawn from `seed`: photos of
 * classes a glance tells apart (leaves, oranges, sky...).
 */
export function colourPhoto(name, base, seed, width, height) {
  const rand = seededRandom(seed);
  const rgb = Buffer.alloc(width * height * 3);
  for (let p = 0; p < rgb.length; p++) {
    rgb[p] = Math.max(0, Math.min(255, Math.round(base[p % 3] + (rand() - 0.5) * 90)));
  }
  return { name, mimeType: 'image/png', buffer: encodePng(width, height, rgb) };
}

/**
 * Writes 8 `colourPhoto`s of each of `classes` ({name: [r, g, b]}, at sizes that are not 64x64,
 * so the crop and the resize run) into DIR/photos/NAME/, converts them with `purrceptron convert
 * --images` (a quarter in test) into DIR/FILE and returns its path.
 */
export async function convertColourClasses(dir, classes, file) {
  const root = path.join(dir, 'photos');
  let seed = 1;
  for (const [name, base] of Object.entries(classes)) {
    await mkdir(path.join(root, name), { recursive: true });
    for (let i = 0; i < 8; i++) {
      const p = colourPhoto(`${i}.png`, base, seed++, 80 + 8 * (i % 3), 64 + 8 * (i % 2));
      await writeFile(path.join(root, name, p.name), p.buffer);
    }
  }
  const out = path.join(dir, file);
  const r = await runCli(['convert', '--images', root, '--test-fraction', '0.25', '-o', out]);
  if (r.code !== 0) throw new Error(`purrceptron convert --images failed: ${r.stderr}`);
  return out;
}

export const garbageFile = () => ({
  name: 'notes.jpg',
  mimeType: 'image/jpeg',
  buffer: Buffer.from('Shopping list: cat food, litter, a laser pointer.\n'.repeat(20)),
});
export const emptyFile = () => ({ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) });

/** Runs the native CLI (from `cwd`, the repository by default); resolves with {code, stdout, stderr}. */
export function runCli(args, { cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * What the native CLI says about photos under a model it trains itself: `trainArgs` are the
 * options of `purrceptron train` (the dataset is given), `photos` [{name, buffer}]. Resolves
 * with {name: {probability, label}}, for comparing the page's cards with (as 05-parity does).
 */
export async function cliPredictions(trainArgs, photos) {
  const dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-cli-'));
  try {
    const model = path.join(dir, 'model.safetensors');
    const trained = await runCli(['train', '--data', DATA, ...trainArgs, '-o', model]);
    if (trained.code !== 0) throw new Error(`purrceptron train failed: ${trained.stderr}`);
    const paths = [];
    for (const p of photos) {
      paths.push(path.join(dir, p.name));
      await writeFile(paths.at(-1), p.buffer);
    }
    const predicted = await runCli(['predict', model, ...paths, '--json']);
    if (predicted.code !== 0) throw new Error(`purrceptron predict failed: ${predicted.stderr}`);
    return Object.fromEntries(predicted.stdout.trim().split('\n').map((l) => JSON.parse(l))
      .map((r) => [path.basename(r.path), { probability: r.probability, label: r.label }]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Asserts that a card shows the CLI's probability (to 1e-5, as 05-parity) and label. */
export function assertSameAsCli(card, cli) {
  if (!cli) throw new Error(`the CLI said nothing about ${card.name}`);
  if (!(Math.abs(card.probability - cli.probability) <= 1e-5) || card.label !== cli.label) {
    throw new Error(`${card.name}: page ${card.probabilityText} (${card.label}), CLI ${cli.probability} (${cli.label})`);
  }
}

/** Asserts that every card shows the CLI's probability and label (`cli`: by file name), and
 * logs how far apart they are. */
export function assertCardsSameAsCli(cards, cli) {
  for (const card of cards) {
    assertSameAsCli(card, cli[card.name]);
    const diff = Math.abs(card.probability - cli[card.name].probability);
    console.log(`${card.name}: page ${card.probabilityText}, CLI ${cli[card.name].probability}, |diff| ${diff.toExponential(2)}`);
  }
}

/** No console errors or page errors so far; says which otherwise. */
export function noErrors(app) {
  return app.errors.length === 0 ? null : app.errors.join('\n');
}

/**
 * Opens the page before the file's tests and makes a temporary folder (`purrceptron-NAME-...`);
 * closes both after them. Returns `{app, dir}`, filled in once they exist.
 */
export function useAppAndTempDir(name) {
  const ctx = { app: null, dir: null };
  before(async () => {
    ctx.app = await openApp();
    ctx.dir = await mkdtemp(path.join(tmpdir(), `purrceptron-${name}-`));
  });
  after(async () => {
    await ctx.app?.close();
    if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

/** The selector of the `k`-th class zone of the own-dataset panel, from 1. */
export const classZone = (k) => `#own-zones > .own-zone:nth-child(${k})`;

/** Renames the `k`-th class as a person does (type, Enter) and waits for the page to take it. */
export async function renameClass(page, k, name) {
  const input = page.locator(`${classZone(k)} [data-testid=class-name]`);
  await input.fill(name);
  await input.press('Enter');
  await page.waitForFunction(([sel, want]) => document.querySelector(sel)?.getAttribute('aria-label')?.includes(want),
    [`${classZone(k)} .own-grid`, `Your ${name} photos`], { timeout: 10_000 });
}
