// The webcam, with Chromium's fake camera (a moving test pattern): frames recorded into a class
// while its button is held, at a steady rate and counted; the live preview classifies the
// camera's frames with the model in use, and its label changes when a model trained on those
// frames comes into use. Without a camera (or with one refused), a message, not a broken page.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodePng, openApp, noErrors, waitForStatus, startTraining, train, classZone, renameClass,
} from './helpers.js';

const apps = [];
after(async () => {
  for (const a of apps) await a.close();
});

const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
const zone = classZone;

// Orange photos with noise: the class the camera's frames are not.
function orange(i) {
  let s = 77 + i;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const rgb = Buffer.alloc(96 * 72 * 3);
  for (let p = 0; p < rgb.length; p++) rgb[p] = Math.max(0, Math.min(255, Math.round([230, 130, 30][p % 3] + (rand() - 0.5) * 90)));
  return { name: `orange-${i}.png`, mimeType: 'image/png', buffer: encodePng(96, 72, rgb) };
}


test('frames recorded into a class while held; the live preview\'s label changes with the model trained on them',
  { timeout: 240_000 }, async () => {
    const app = await openApp({ args: FAKE_CAMERA });
    apps.push(app);
    const { page } = app;
    // A first model: logistic regression on the classic set, which says cat or non-cat.
    await train(page, {});
    await page.click('[data-testid=webcam-preview]');
    await page.waitForFunction(() => document.querySelector('[data-testid=live-label]').dataset.label, null, { timeout: 30_000 });
    const first = await page.getAttribute('[data-testid=live-label]', 'data-label');
    assert.ok(['cat', 'non-cat'].includes(first), first);

    await renameClass(page, 1, 'camera');
    await renameClass(page, 2, 'oranges');
    // Held for a while: frames at a steady rate, counted on the button and in the class.
    const record = page.locator(`${zone(1)} [data-testid=class-webcam]`);
    await record.hover();
    await page.mouse.down();
    const t0 = Date.now();
    await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.frames ?? 0) >= 10,
      `${zone(1)} [data-testid=class-webcam]`, { timeout: 30_000 });
    await page.mouse.up();
    const held = (Date.now() - t0) / 1000;
    const frames = Number(await record.getAttribute('data-frames'));
    assert.equal(await record.getAttribute('aria-pressed'), 'false');
    console.log(`${frames} frames in ${held.toFixed(1)} s held`);
    assert.ok(frames >= 10 && frames <= 5 * held + 3, `${frames} frames in ${held} s: 5 a second at most`);
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.count) === n,
      [zone(1), frames], { timeout: 30_000 });
    await page.setInputFiles(`${zone(2)} input.own-files-input`, Array.from({ length: 10 }, (_, i) => orange(i)));
    await page.waitForFunction(() => !document.querySelector('#own-build').disabled, null, { timeout: 30_000 });
    await page.click('[data-testid=own-build]');
    await page.waitForFunction(() => /built/.test(document.querySelector('[data-testid=own-summary]').textContent), null,
      { timeout: 10_000 });
    await startTraining(page, { model: 'pretrained' });
    await waitForStatus(page, 'trained', 120_000);
    // The live preview now says what the new model says of the camera: its class.
    await page.waitForFunction(() => document.querySelector('[data-testid=live-label]').dataset.label === 'camera', null,
      { timeout: 30_000 });
    console.log(`live preview: ${first} -> ${await page.textContent('[data-testid=live-label]')}`);
    noErrors(app);
  });

test('no camera: holding the record button and the live preview give a message, and the page keeps working',
  { timeout: 60_000 }, async () => {
    const app = await openApp();
    apps.push(app);
    const { page } = app;
    const record = page.locator(`${zone(1)} [data-testid=class-webcam]`);
    await record.hover();
    await page.mouse.down();
    await page.waitForFunction(() => /camera/.test(document.querySelector('[data-testid=error]').textContent), null,
      { timeout: 15_000 });
    await page.mouse.up();
    const message = await page.textContent('[data-testid=error]');
    console.log(`message: ${message}`);
    assert.match(message, /give photos instead/);
    assert.equal(await record.getAttribute('aria-pressed'), 'false');
    assert.equal(await page.isHidden('[data-testid=webcam-box]'), true);
    // The rest still works: a training.
    await train(page, {});
    assert.equal(await page.textContent('[data-testid=status]'), 'trained');
  });

test('a camera the person refuses: a message that says how to allow it', { timeout: 60_000 }, async () => {
  // A camera exists (the fake one) but no permission is given: the request is refused.
  const app = await openApp({ args: ['--use-fake-device-for-media-stream'] });
  apps.push(app);
  const { page } = app;
  await page.click('[data-testid=webcam-preview]');
  await page.waitForFunction(() => /camera/.test(document.querySelector('[data-testid=error]').textContent), null,
    { timeout: 15_000 });
  const message = await page.textContent('[data-testid=error]');
  console.log(`message: ${message}`);
  assert.match(message, /The camera was refused: allow it for this page/);
  assert.equal(await page.getAttribute('[data-testid=webcam-preview]', 'aria-pressed'), 'false');
  assert.equal(await page.isHidden('[data-testid=webcam-box]'), true);
});
