// The inspection panel: confusion-matrix cells show exactly their test images, the mislabeled
// gallery holds every test error, weight images are the first layer's weights at the right size,
// and earlier runs' cost curves are overlaid on the current one.
//
// The expected images and levels are computed here, in plain JavaScript float64, from the
// model file's own weights and the dataset's bytes: an implementation independent of the Rust
// one the page runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { train, runCli, datasetTensor, DATA, noErrors, useAppAndTempDir } from './helpers.js';

const ctx = useAppAndTempDir('inspect');

/** The F64 tensors of a safetensors file: name -> {shape, values}. */
function tensors(buffer) {
  const headerLen = Number(buffer.readBigUInt64LE(0));
  const header = JSON.parse(buffer.subarray(8, 8 + headerLen).toString('utf8'));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(t.dtype, 'F64');
    const bytes = buffer.subarray(8 + headerLen + t.data_offsets[0], 8 + headerLen + t.data_offsets[1]);
    const values = new Float64Array(bytes.length / 8);
    for (let i = 0; i < values.length; i++) values[i] = bytes.readDoubleLE(i * 8);
    out[name] = { shape: t.shape, values };
  }
  return out;
}

/** Logistic regression's P(cat) for every test image: sigmoid(w . (bytes / 255) + b). */
function lrProbabilities(model) {
  const w = model.W1.values;
  const b = model.b1.values[0];
  const x = datasetTensor('test_x').bytes;
  const n = w.length;
  const m = x.length / n;
  return Array.from({ length: m }, (_, i) => {
    let z = b;
    for (let j = 0; j < n; j++) z += w[j] * (x[i * n + j] / 255);
    return 1 / (1 + Math.exp(-z));
  });
}

/** The scaling documented for weight images: round(127.5 + 127.5 w / max|w|) per unit, in 0..=255. */
function weightLevels(w, unit, n) {
  const row = w.subarray(unit * n, (unit + 1) * n);
  const m = row.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  // Clamped as documented; Math.max also turns Math.round's -0 into 0.
  return Array.from(row, (v) => Math.min(255, Math.max(0, Math.round(127.5 + (m > 0 ? (127.5 * v) / m : 0)))));
}

const loadModelFile = (page, name, buffer) =>
  page.setInputFiles('[data-testid=model-file]', { name, mimeType: 'application/octet-stream', buffer });

async function loadFromCli(page, name, args) {
  const file = path.join(ctx.dir, `${name}.safetensors`);
  const r = await runCli(['train', '--data', DATA, ...args, '-o', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const bytes = await readFile(file);
  await loadModelFile(page, `${name}.safetensors`, bytes);
  await page.waitForFunction((want) => document.querySelector('[data-testid=inspect-model]')?.textContent.startsWith(want),
    name, { timeout: 20_000, polling: 20 });
  return tensors(bytes);
}

const shownIndices = (page, selector) =>
  page.$$eval(`${selector} [data-testid=gallery-image]`, (items) => items.map((li) => ({
    index: Number(li.dataset.index), probability: Number(li.dataset.probability),
  })));

test('confusion-matrix cells show their test images; the gallery holds every error', { timeout: 90_000 }, async () => {
  const { page } = ctx.app;
  const model = await loadFromCli(page, 'lr', []);
  const p = lrProbabilities(model);
  const y = datasetTensor('test_y').bytes;
  const expected = { '1,1': [], '1,0': [], '0,1': [], '0,0': [] };
  p.forEach((pi, i) => expected[`${y[i]},${pi > 0.5 ? 1 : 0}`].push(i));
  const errors = [...expected['1,0'], ...expected['0,1']].sort((a, b) => a - b);
  // 70% test accuracy in the numpy reference: 15 errors out of 50.
  assert.equal(errors.length, 15);

  assert.equal(await page.textContent('[data-testid=inspect-test]'), '70.0%');
  // 33 of the 50 test images are cats (numpy reference: dataset.test_cats).
  assert.equal(await page.textContent('[data-testid=inspect-baseline]'), '66.0%');
  assert.equal(await page.textContent('[data-testid=inspect-errors]'), '15 of 50');

  for (const [key, want] of Object.entries(expected)) {
    const [a, pr] = key.split(',');
    const cell = page.locator(`[data-testid=confusion-cell][data-actual="${a}"][data-predicted="${pr}"]`);
    assert.equal(await cell.textContent(), String(want.length), `cell ${key}`);
    await cell.click();
    await page.waitForFunction(([aa, pp]) => {
      const g = document.querySelector('[data-testid=cell-gallery]');
      return !g.hidden && g.dataset.actual === aa && g.dataset.predicted === pp;
    }, [a, pr]);
    const shown = await shownIndices(page, '#cell-images');
    assert.deepEqual(shown.map((s) => s.index), want, `cell actual ${a} predicted ${pr}`);
    for (const s of shown) assert.ok(Math.abs(s.probability - p[s.index]) < 1e-9, `image ${s.index}`);
    // The thumbnails are the test images themselves.
    if (want.length) {
      const first = await page.$eval('#cell-images canvas', (c) => Array.from(c.getContext('2d').getImageData(0, 0, 64, 64).data));
      const img = datasetTensor('test_x').bytes.subarray(want[0] * 12288, (want[0] + 1) * 12288);
      assert.deepEqual(first.filter((_, i) => i % 4 !== 3), Array.from(img));
    }
  }

  const mistakes = await shownIndices(page, '[data-testid=mistakes]');
  assert.equal(mistakes.length, errors.length);
  assert.deepEqual(mistakes.map((m) => m.index), errors);
  assert.equal(noErrors(ctx.app), null);
});

test('weight images: logistic regression one 64x64 image, a 7-unit layer seven', { timeout: 90_000 }, async () => {
  const { page } = ctx.app;
  // The LR model of the previous test is still the one inspected.
  const file = await readFile(path.join(ctx.dir, 'lr.safetensors'));
  const w = tensors(file).W1.values;
  const shown = await page.$$eval('[data-testid=weight-image] canvas', (cs) => cs.map((c) => ({
    width: c.width, height: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data),
  })));
  assert.equal(shown.length, 1);
  assert.equal(shown[0].width, 64);
  assert.equal(shown[0].height, 64);
  const want = weightLevels(w, 0, 12288);
  const got = shown[0].data.filter((_, i) => i % 4 !== 3);
  assert.deepEqual(got, want);
  // Not a flat picture: the largest |w| reaches one end of the range, and both signs occur.
  const [lo, hi] = [Math.min(...got), Math.max(...got)];
  assert.ok(lo === 0 || hi === 255, `levels ${lo}..${hi}`);
  assert.ok(lo < 128 && hi > 128, `levels ${lo}..${hi}`);

  const deep = await loadFromCli(page, 'deep7', ['--model', 'deep', '--layers', '7', '--iters', '100']);
  const canvases = await page.$$eval('[data-testid=weight-image] canvas', (cs) => cs.map((c) => ({
    width: c.width, height: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data),
  })));
  assert.equal(canvases.length, 7);
  for (const [u, c] of canvases.entries()) {
    assert.equal(c.width, 64);
    assert.equal(c.height, 64);
    assert.deepEqual(c.data.filter((_, i) => i % 4 !== 3), weightLevels(deep.W1.values, u, 12288), `unit ${u}`);
  }
  assert.equal(noErrors(ctx.app), null);
});

test('earlier runs are overlaid on the cost curve', { timeout: 90_000 }, async () => {
  const { page } = ctx.app;
  // Two CLI models are saved but have no cost record: nothing to overlay yet.
  assert.equal(await page.locator('[data-testid=curve-run]').count(), 0);
  await train(page, { iters: 300 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=saved-model]').length === 3);
  assert.equal(await page.locator('[data-testid=curve-run]').count(), 0);
  await train(page, { iters: 600 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=curve-run]').length === 1);
  await train(page, { model: '2layer', iters: 200 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=curve-run]').length === 2);
  const legend = await page.$$eval('[data-testid=curve-run]', (items) => items.map((li) => li.textContent));
  assert.match(legend[0], /^logistic regression, test \d+\.\d% \(cost 0\.\d{4}\)$/);

  // The dashed curves are drawn in their legend colours; unticking the box removes them.
  const countOverlay = () => page.$eval('#curve', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - 0x3b) < 12 && Math.abs(d[i + 1] - 0x6f) < 12 && Math.abs(d[i + 2] - 0xb6) < 12 && d[i + 3] > 200) n++;
    }
    return n;
  });
  await page.waitForTimeout(100); // one animation frame for the redraw
  assert.ok(await countOverlay() > 50, 'the first earlier run is not drawn');
  await page.uncheck('[data-testid=compare]');
  await page.waitForTimeout(100);
  assert.equal(await countOverlay(), 0);
  assert.equal(await page.locator('[data-testid=curve-run]').count(), 0);
  await page.check('[data-testid=compare]');
  assert.equal(noErrors(ctx.app), null);
});
