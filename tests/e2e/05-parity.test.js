// The page and the native CLI, trained the same way, give the same probability for the same
// photo: one preprocessing path, one network, whichever front end runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { train, chooseFiles, waitForCards, photoFromTestImage, runCli, DATA, noErrors, useAppAndTempDir, assertCardsSameAsCli } from './helpers.js';

const ctx = useAppAndTempDir('parity');

test('CLI and page agree on a photo to 1e-5', { timeout: 90_000 }, async () => {
  const photos = [0, 5, 11].map((i) => ({ name: `photo-${i}.png`, buffer: photoFromTestImage(i) }));
  for (const p of photos) await writeFile(path.join(ctx.dir, p.name), p.buffer);

  const model = path.join(ctx.dir, 'model.safetensors');
  const trained = await runCli(['train', '--data', DATA, '-o', model, '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const receipt = JSON.parse(trained.stdout);
  assert.equal(receipt.hyperparams.iterations, 2000);
  assert.equal(receipt.hyperparams.learning_rate, 0.005);

  const predicted = await runCli(['predict', model, ...photos.map((p) => path.join(ctx.dir, p.name)), '--json']);
  assert.equal(predicted.code, 0, predicted.stderr);
  const cli = Object.fromEntries(predicted.stdout.trim().split('\n').map((l) => JSON.parse(l))
    .map((r) => [path.basename(r.path), r]));

  const { page } = ctx.app;
  await train(page, {});
  await chooseFiles(page, photos.map((p) => ({ ...p, mimeType: 'image/png' })));
  const cards = await waitForCards(page, photos.length);
  assertCardsSameAsCli(cards, cli);
  assert.equal(noErrors(ctx.app), null);
});
