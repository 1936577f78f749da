// Learning rates far too large (10 and 100; the defaults are 0.005 and 0.0075) on every model:
// each run ends with a clear message or a sound result, never a NaN on the page, and the page
// stays usable. The CLI says the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  startTraining, train, waitForStatus, chooseFiles, waitForCards, photoFromTestImage, runCli, DATA,
  noErrors, cliPredictions, assertSameAsCli, useAppAndTempDir,
} from './helpers.js';

const ctx = useAppAndTempDir('diverge');

const ITERS = 300;
const RUNS = [];
for (const model of ['lr', '2layer', '4layer']) for (const lr of [10, 100]) RUNS.push({ model, lr });

const ADVICE = 'try a smaller learning rate \\(the defaults are 0\\.005 for logistic regression and 0\\.0075 for the deep networks\\)';
// The two warnings of src/convergence.rs, as the page shows them.
const NOT_CONVERGED = new RegExp('^(Training did not converge: the cost rose from \\d+\\.\\d{4} to \\d+\\.\\d{4} with learning rate (10|100), ' +
  'so the steps overshoot and the probabilities are unreliable|Training did not learn: with learning rate (10|100) the model is right on ' +
  '\\d+\\.\\d% of the training images, worse than always giving the most common answer \\(65\\.6%\\)); ' + ADVICE + '\\.$');

test('learning rates 10 and 100 on every model: a clear message, no NaN', { timeout: 300_000 }, async () => {
  const { page } = ctx.app;
  const outcomes = [];
  for (const { model, lr } of RUNS) {
    await startTraining(page, { model, lr, iters: ITERS });
    await page.waitForFunction(() => ['trained', 'error'].includes(document.querySelector('[data-testid=status]').textContent),
      null, { timeout: 60_000, polling: 50 });
    const status = await page.textContent('[data-testid=status]');
    const body = await page.evaluate(() => document.body.innerText);
    assert.doesNotMatch(body, /NaN|Infinity|undefined/, `${model} lr ${lr}`);
    const note = await page.isVisible('[data-testid=train-note]') ? await page.textContent('[data-testid=train-note]') : null;
    const error = await page.isVisible('[data-testid=error]') ? await page.textContent('[data-testid=error]') : null;
    const cost = await page.textContent('[data-testid=final-cost]');
    const trainAccuracy = await page.textContent('[data-testid=train-accuracy]');
    outcomes.push({ model, lr, status, note, error, cost, trainAccuracy });
    if (status === 'error') {
      // Overflow: the weights became infinite; nothing is kept from this run.
      assert.match(error, /^Training failed: training diverged at iteration \d+ \(learning rate (10|100)\): the cost became (inf|NaN); try a smaller learning rate$/);
    } else if (note !== null) {
      assert.match(note, NOT_CONVERGED, `${model} lr ${lr}`);
      assert.match(cost, /^\d+\.\d{6}$/);
    } else {
      // Neither: then the run must have learnt (the cost fell and the fit is good).
      assert.match(cost, /^\d+\.\d{6}$/);
      assert.ok(Number(cost) < 0.69, `${model} lr ${lr}: cost ${cost} without a message`);
      assert.ok(parseFloat(trainAccuracy) > 66, `${model} lr ${lr}: train accuracy ${trainAccuracy} without a message`);
    }
  }
  for (const o of outcomes) {
    console.log(`${o.model} lr ${o.lr}: ${o.status}; final cost ${o.cost}, train accuracy ${o.trainAccuracy}; ` +
      `${o.note ?? o.error ?? 'no message (it learnt)'}`);
  }
  // At these rates every run overshoots or collapses (tests/convergence.rs): each must say so.
  for (const o of outcomes) assert.ok(o.note || o.status === 'error', `${o.model} lr ${o.lr}: no message`);

  // Still usable: a sound training and a classification afterwards.
  await train(page, { model: 'lr', lr: 0.005, iters: 2000 });
  assert.equal(await page.isVisible('[data-testid=train-note]'), false);
  await chooseFiles(page, [{ name: 'after.png', mimeType: 'image/png', buffer: photoFromTestImage(1) }]);
  const [card] = await waitForCards(page, 1);
  const cli = await cliPredictions([], [{ name: 'after.png', buffer: photoFromTestImage(1) }]);
  assertSameAsCli(card, cli['after.png']);
  assert.equal(noErrors(ctx.app), null);
});

test('the CLI says the same for the deep network', { timeout: 120_000 }, async () => {
  for (const lr of ['10', '100']) {
    const r = await runCli(['train', '--data', DATA, '--model', 'deep', '--lr', lr, '--iters', String(ITERS),
      '-o', path.join(ctx.dir, `deep-${lr}.safetensors`)]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /NaN/);
    assert.match(r.stderr, new RegExp(`^warning: training did not (converge|learn): .*learning rate ${lr}\\b.*; try a smaller learning rate`, 'm'));
  }
});
