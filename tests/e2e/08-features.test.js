// The learned-feature model in the page: it trains through its stages in the worker, shows a
// test accuracy well above the "always cat" baseline, and classifies photos with the same
// probability as the native CLI trained with the same seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  startTraining, waitForStatus, chooseFiles, waitForCards, photoFromTestImage, runCli, DATA, noErrors, useAppAndTempDir, assertCardsSameAsCli,
} from './helpers.js';

const ctx = useAppAndTempDir('features');

test('a cancelled learned-feature training keeps nothing and says so', { timeout: 60_000 }, async () => {
  const { page } = ctx.app;
  await startTraining(page, { model: 'features', seed: 2 });
  // The iterations and learning-rate fields do not apply to this model.
  assert.equal(await page.isVisible('[data-testid=iters]'), false);
  assert.equal(await page.isVisible('[data-testid=lr]'), false);
  await page.click('[data-testid=cancel]');
  await waitForStatus(page, 'cancelled', 30_000);
  assert.match(await page.textContent('#progress-text'), /nothing was kept\./);
  assert.equal(await page.isVisible('#results'), false);
  // Without a model, a photo is classified by the pretrained network, and its card says so.
  await chooseFiles(page, [{ name: 'p.png', mimeType: 'image/png', buffer: photoFromTestImage(0) }]);
  await page.waitForSelector('[data-testid=result][data-state=done]', { timeout: 60_000 });
  assert.match(await page.textContent('[data-testid=card-by]'), /^no training yet: ImageNet's cat classes/);
  await page.click('#clear');
  assert.equal(noErrors(ctx.app), null);
});

test('the worker refuses a learning rate or iterations for the learned-feature model', { timeout: 60_000 }, async () => {
  const { page } = ctx.app;
  // A second worker of the page's own, spoken to with the page's protocol.
  const replies = await page.evaluate(() => new Promise((resolve) => {
    const w = new Worker('./worker.js', { type: 'module' });
    const got = [];
    w.addEventListener('message', (e) => {
      if (e.data.type === 'ready') {
        w.postMessage({ type: 'train', id: 1, params: { model: 'features', learning_rate: 10 } });
        w.postMessage({ type: 'train', id: 2, params: { model: 'features', seed: 1, iterations: 100 } });
        return;
      }
      got.push({ id: e.data.id, type: e.data.type, kind: e.data.kind, message: e.data.message });
      if (got.length === 2) {
        w.terminate();
        resolve(got);
      }
    });
  }));
  assert.deepEqual(replies.map((r) => [r.id, r.type, r.kind]), [[1, 'error', 'parameter'], [2, 'error', 'parameter']]);
  assert.match(replies[0].message, /learned-feature model does not take `learning_rate`/);
  assert.match(replies[1].message, /learned-feature model does not take `iterations`/);
});

test('learned features: stages shown, test accuracy >= 84% beside the baseline, CLI parity', { timeout: 180_000 }, async () => {
  const { page } = ctx.app;
  // Every progress text shown while training, recorded in the page as it changes.
  await page.evaluate(() => {
    window.__progressTexts = [];
    new MutationObserver(() => window.__progressTexts.push(document.querySelector('#progress-text').textContent))
      .observe(document.querySelector('#progress-text'), { childList: true, characterData: true, subtree: true });
  });
  const t0 = Date.now();
  await startTraining(page, { model: 'features', seed: 1 });
  await waitForStatus(page, 'trained', 120_000);
  const wallMs = Date.now() - t0;
  const texts = await page.evaluate(() => window.__progressTexts);
  const stages = [...new Set(texts.map((t) => /Stage \d of 5: ([a-z-]+)/.exec(t)?.[1]).filter(Boolean))];
  const shownTime = await page.textContent('[data-testid=train-time]');
  const testText = await page.textContent('[data-testid=test-accuracy]');
  const baseline = await page.textContent('[data-testid=baseline]');
  console.log(`features in the page: ${wallMs} ms from click to result (page says ${shownTime}); ` +
    `stages seen: ${stages.join(', ')}; train ${await page.textContent('[data-testid=train-accuracy]')}, ` +
    `test ${testText} ${baseline}`);

  // The long stages are seen in order (the short ones may pass between two progress messages).
  assert.ok(stages.includes('encoding') && stages.includes('fitting'), `stages seen: ${stages}`);
  assert.ok(stages.indexOf('encoding') < stages.indexOf('fitting'));
  const test = Number(/^([\d.]+)%$/.exec(testText)?.[1]);
  assert.ok(test >= 84, `test accuracy ${testText}`);
  assert.match(baseline, /always “cat”: 66\.0%/);
  assert.match(await page.textContent('#progress-text'), /Done: learned features in .* C = /);
  assert.doesNotMatch(await page.textContent('main'), /NaN|undefined/);

  // The CLI, same seed, same photos.
  const photos = [0, 5, 11].map((i) => ({ name: `photo-${i}.png`, buffer: photoFromTestImage(i) }));
  for (const p of photos) await writeFile(path.join(ctx.dir, p.name), p.buffer);
  const model = path.join(ctx.dir, 'features.safetensors');
  const trained = await runCli(['train', '--model', 'features', '--seed', '1', '--data', DATA, '-o', model, '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const receipt = JSON.parse(trained.stdout);
  assert.equal(`${(100 * receipt.evaluation.test_accuracy).toFixed(1)}%`, testText);
  const predicted = await runCli(['predict', model, ...photos.map((p) => path.join(ctx.dir, p.name)), '--json']);
  assert.equal(predicted.code, 0, predicted.stderr);
  const cli = Object.fromEntries(predicted.stdout.trim().split('\n').map((l) => JSON.parse(l))
    .map((r) => [path.basename(r.path), r]));

  await chooseFiles(page, photos.map((p) => ({ ...p, mimeType: 'image/png' })));
  const cards = await waitForCards(page, photos.length);
  assertCardsSameAsCli(cards, cli);
  assert.equal(noErrors(ctx.app), null);
});
