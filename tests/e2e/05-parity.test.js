// The page and the native CLI, trained the same way, give the same probability for the same
// photo: one preprocessing path, one network, whichever front end runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { train, chooseFiles, waitForCards, photoFromTestImage, runCli, DATA, noErrors, useAppAndTempDir } from './helpers.js';

let app;
let dir;
useAppAndTempDir('parity', (a, d) => {
  app = a;
  dir = d;
});

test('CLI and page agree on a photo to 1e-5', { timeout: 90_000 }, async () => {
  const photos = [0, 5, 11].map((i) => ({ name: `photo-${i}.png`, buffer: photoFromTestImage(i) }));
  for (const p of photos) await writeFile(path.join(dir, p.name), p.buffer);

  const model = path.join(dir, 'model.safetensors');
  const trained = await runCli(['train', '--data', DATA, '-o', model, '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const receipt = JSON.parse(trained.stdout);
  assert.equal(receipt.hyperparams.iterations, 2000);
  assert.equal(receipt.hyperparams.learning_rate, 0.005);

  const predicted = await runCli(['predict', model, ...photos.map((p) => path.join(dir, p.name)), '--json']);
  assert.equal(predicted.code, 0, predicted.stderr);
  const cli = Object.fromEntries(predicted.stdout.trim().split('\n').map((l) => JSON.parse(l))
    .map((r) => [path.basename(r.path), r]));

  const { page } = app;
  await train(page, {});
  await chooseFiles(page, photos.map((p) => ({ ...p, mimeType: 'image/png' })));
  const cards = await waitForCards(page, photos.length);
  for (const card of cards) {
    const c = cli[card.name];
    assert.ok(c, `the CLI said nothing about ${card.name}`);
    const diff = Math.abs(card.probability - c.probability);
    console.log(`${card.name}: page ${card.probabilityText}, CLI ${c.probability}, |diff| ${diff.toExponential(2)}`);
    assert.ok(diff <= 1e-5, `${card.name}: page ${card.probability} vs CLI ${c.probability}`);
    assert.equal(card.label, c.label);
  }
  assert.equal(noErrors(app), null);
});
