// Whatever file is dropped, the page keeps working and says what is wrong: a drop of hard files
// (empty, text named .jpg, truncated JPEG/PNG/GIF/WebP at several lengths, absurd headers, a
// decompression bomb, CMYK JPEG, 16-bit, grey and RGBA PNGs, an animated GIF, an EXIF-rotated
// phone photo, HEIC and AVIF) mixed with good photos. Every card gets a result or a specific
// message; the same files given to the native CLI get the same answers; the page stays
// responsive and the good photos are classified.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  openApp, train, waitForCards, photoFromTestImage, testImage, garbageFile, emptyFile,
  runCli, noErrors,
} from './helpers.js';
import {
  png, pngFile, zlibZeros, blackPng, uniformJpeg, gif, ftyp, withExifOrientation, canvasPhoto,
} from './badfiles.js';

let app;
let dir;
before(async () => {
  // Test mode, for window.__purrceptron (www/protocol.js).
  app = await openApp({ test: true });
  dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-bad-'));
});
after(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const CLASSIFIED = { ok: true };
// A truncated file may still decode (decoders fill in what is missing, a GIF's first frame may
// be complete); if not, the message names the format and says truncated or corrupt.
const truncated = (format) => ({
  ok: 'either',
  error: new RegExp(`^cannot decode image: the ${format} (file is truncated|data is corrupt or truncated \\(.+\\))$`),
});

async function badFiles(page) {
  const files = [];
  const add = (name, buffer, expect, mimeType = '') => files.push({ name, buffer, expect, mimeType });
  add(emptyFile().name, emptyFile().buffer, { error: /^the file is empty$/ });
  add(garbageFile().name, garbageFile().buffer, { error: /^unsupported image format: .*not an image.*text/i });

  // Real encodings, then cut at several lengths.
  const photo = testImage(1);
  const jpeg = await canvasPhoto(page, photo, 640, 480, 'image/jpeg');
  const webp = await canvasPhoto(page, photo, 640, 480, 'image/webp');
  const pngPhoto = photoFromTestImage(1, 320, 240);
  const palette = Array.from({ length: 128 }, (_, i) => [2 * i, 255 - 2 * i, 90]);
  const animated = gif(48, 32, palette, [(x, y) => (x * 2 + y) % 128, () => 7, () => 100]);
  for (const [kind, format, bytes] of [['jpg', 'JPEG', jpeg], ['webp', 'WEBP', webp], ['png', 'PNG', pngPhoto], ['gif', 'GIF', animated]]) {
    for (const n of [1, 12, 100, Math.floor(bytes.length / 2), bytes.length - 2]) {
      // A single byte is not recognisable as anything.
      const expect = n === 1 ? { error: /^unsupported image format: not an image\b/ } : truncated(format);
      add(`cut-${n}-of-${bytes.length}.${kind}`, bytes.subarray(0, n), expect);
    }
  }
  add('whole.webp', webp, { ...CLASSIFIED, format: 'webp', size: '640 × 480' });
  add('animated.gif', animated, { ...CLASSIFIED, format: 'gif', size: '48 × 32' });

  add('huge-header.png', pngFile(2 ** 31, 2 ** 31, 8, 2, zlibZeros(10)),
    { error: /^image too large: 2147483648 x 2147483648 pixels \(limit 16384 px a side, 67108864 pixels\)$/ });
  add('bomb.png', blackPng(30_000, 30_000),
    { error: /^image too large: 30000 x 30000 pixels \(limit 16384 px a side, 67108864 pixels\)$/ });
  add('cmyk.jpg', uniformJpeg(120, 90, [200, 100, 50, 230], 0), { ...CLASSIFIED, format: 'jpeg', size: '120 × 90' });
  add('grey16.png', png(50, 40, 1, 16, (x) => x / 50), { ...CLASSIFIED, format: 'png', size: '50 × 40' });
  add('grey.png', png(50, 40, 1, 8, (x, y) => y / 40), { ...CLASSIFIED, format: 'png', size: '50 × 40' });
  add('rgb16.png', png(50, 40, 3, 16, (x, y, c) => (c === 0 ? x / 50 : y / 40)), { ...CLASSIFIED, format: 'png', size: '50 × 40' });
  add('rgba.png', png(50, 40, 4, 8, (x, y, c) => (c === 3 ? x / 50 : 0.3)), { ...CLASSIFIED, format: 'png', size: '50 × 40' });
  // Stored 1200 x 900 (landscape) with Orientation 6: an upright phone photo, 900 x 1200.
  const stored = await canvasPhoto(page, testImage(2), 1200, 900, 'image/jpeg');
  add('phone.jpg', withExifOrientation(stored, 6), { ...CLASSIFIED, format: 'jpeg', size: '900 × 1200' });
  add('IMG_0001.HEIC', ftyp('heic', ['mif1', 'heic']), { error: /^unsupported image format: HEIC\/HEIF images .*convert the photo to JPEG or PNG/ });
  add('photo.avif', ftyp('avif', ['avif', 'mif1', 'miaf']), { error: /^unsupported image format: AVIF images .*convert the photo to JPEG or PNG/ });
  // Good photos dropped with all of that.
  for (const i of [3, 4, 5]) add(`good-${i}.png`, photoFromTestImage(i), { ...CLASSIFIED, format: 'png', size: '256 × 192' });
  return files;
}

test('a drop of bad files: a result or a specific message each, natively and in the page', { timeout: 240_000 }, async () => {
  const { page } = app;
  await train(page, {});
  const files = await badFiles(page);

  // Natively: the CLI on the same bytes.
  const paths = [];
  for (const [i, f] of files.entries()) {
    const p = path.join(dir, `${String(i).padStart(2, '0')}-${f.name}`);
    await writeFile(p, f.buffer);
    paths.push(p);
  }
  // The worker answers with an ArrayBuffer, which does not cross page.evaluate: send numbers.
  await writeFile(path.join(dir, 'model.safetensors'), new Uint8Array(await page.evaluate(async () =>
    Array.from(new Uint8Array((await window.__purrceptron.call('export-model')).bytes)))));
  const cli = await runCli(['predict', path.join(dir, 'model.safetensors'), '--json', ...paths]);
  const native = cli.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(native.length, files.length, cli.stderr);

  // The files are made into File objects first, so that the measurement below sees only the
  // page's own work (the conversion from base64 takes seconds for the bomb).
  await page.evaluate((items) => {
    window.__files = items.map(({ name, type, base64 }) => {
      const s = atob(base64);
      const bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
      return new File([bytes], name, { type });
    });
  }, files.map((f) => ({ name: f.name, type: f.mimeType, base64: f.buffer.toString('base64') })));
  // In the page, while measuring the main thread: long tasks, and how late a frame can be.
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
    window.__frameGaps = [];
    let last = performance.now();
    const tick = (t) => {
      window.__frameGaps.push(t - last);
      last = t;
      if (!window.__stopFrames) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const dt = new DataTransfer();
    for (const f of window.__files) dt.items.add(f);
    const zone = document.getElementById('dropzone');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  });
  // While the worker reads them, a control still answers at once.
  await page.selectOption('[data-testid=model]', '2layer');
  assert.equal(await page.inputValue('[data-testid=lr]'), '0.0075');
  await page.selectOption('[data-testid=model]', 'lr');

  const cards = await waitForCards(page, files.length, 120_000);
  const { longTasks, frameGaps } = await page.evaluate(() => {
    window.__stopFrames = true;
    return { longTasks: window.__longTasks, frameGaps: window.__frameGaps };
  });
  const byName = new Map(cards.map((c) => [c.name, c]));
  const sizes = await page.$$eval('[data-testid=result]', (els) => Object.fromEntries(
    els.map((c) => [c.querySelector('.card-name').textContent, c.querySelector('.size')?.textContent])));
  for (const [i, f] of files.entries()) {
    const card = byName.get(f.name);
    const cli = native.find((n) => n.path === paths[i]);
    assert.ok(cli, `the CLI said nothing about ${f.name}`);
    assert.ok(card, `no card for ${f.name}`);
    if (card.error === undefined) {
      assert.ok(f.expect.ok, `${f.name} was classified, expected ${f.expect.error}`);
      assert.ok(card.probability >= 0 && card.probability <= 1, `${f.name}: ${card.probabilityText}`);
      if (f.expect.format) assert.equal(sizes[f.name], `${f.expect.format.toUpperCase()}, ${f.expect.size}`, f.name);
      // Same preprocessing and model natively: the same probability up to rounding.
      assert.ok(Math.abs(cli.probability - card.probability) < 1e-9, `${f.name}: ${cli.probability} vs ${card.probability}`);
    } else {
      assert.ok(f.expect.ok !== true, `${f.name} failed: ${card.error}`);
      assert.match(card.error, f.expect.error, f.name);
      assert.equal(cli.error, card.error, `${f.name}: the CLI says otherwise`);
    }
  }
  const failed = cards.filter((c) => c.error !== undefined).length;
  console.log(`${files.length} files: ${files.length - failed} classified, ${failed} refused with a message; ` +
    `longest main-thread task ${Math.max(0, ...longTasks).toFixed(0)} ms (${longTasks.length} over 50 ms), ` +
    `longest frame gap ${Math.max(...frameGaps).toFixed(0)} ms`);
  // No NaN or placeholder text on any card.
  const text = await page.textContent('#cards');
  assert.doesNotMatch(text, /NaN|undefined|\[object/);
  // The page never froze: no main-thread task or gap between frames near a quarter second.
  assert.ok(Math.max(0, ...longTasks) < 250, `long tasks: ${longTasks.join(', ')}`);
  assert.ok(Math.max(...frameGaps) < 500, `a frame came ${Math.max(...frameGaps)} ms late`);
  assert.equal(await page.textContent('[data-testid=status]'), 'trained');
  assert.equal(await page.textContent('[data-testid=classify-progress]'), `Classified ${files.length} photos.`);
  assert.equal(noErrors(app), null);
});
