// A class's thumbnails are virtualised: 600 photos in one class make a few dozen thumbnails in
// the page, not 600, and scrolling the grid draws the photos that come into view, each the
// image the model sees of that very photo (a flat colour that encodes its number).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePng, classZone, noErrors, useAppAndTempDir } from './helpers.js';

const ctx = useAppAndTempDir('thumbnails');
const N = 600;
// Photo i is flat: red i % 256, green 40 * floor(i / 256), blue 77.
const colour = (i) => [i % 256, 40 * Math.floor(i / 256), 77];
const name = (i) => `photo-${String(i).padStart(3, '0')}.png`;

function flat(i) {
  const rgb = Buffer.alloc(8 * 8 * 3);
  for (let p = 0; p < 64; p++) rgb.set(colour(i), p * 3);
  return { name: name(i), mimeType: 'image/png', buffer: encodePng(8, 8, rgb) };
}

/** The thumbnails drawn in the first zone: {title, rgb of the centre pixel}. */
const drawn = (page) => page.$$eval(`${classZone(1)} .own-grid li`, (lis) => lis.filter((li) => li.querySelector('canvas'))
  .map((li) => {
    const c = li.querySelector('canvas');
    const [r, g, b] = c.getContext('2d').getImageData(32, 32, 1, 1).data;
    return { title: li.title, rgb: [r, g, b] };
  }));

test(`${N} photos in a class: a few dozen thumbnails in the page, the right ones drawn as the grid scrolls`,
  { timeout: 180_000 }, async () => {
    const { page } = ctx.app;
    await page.setInputFiles(`${classZone(1)} [data-testid=class-files]`, Array.from({ length: N }, (_, i) => flat(i)));
    await page.waitForFunction((n) => document.querySelector('#own-zone-cat').dataset.count === String(n), N,
      { timeout: 120_000, polling: 100 });
    const scroll = page.locator(`${classZone(1)} .own-scroll`);
    await page.waitForFunction((sel) => document.querySelector(sel).querySelectorAll('canvas').length > 0,
      `${classZone(1)} .own-grid`, { timeout: 10_000 });
    const first = await drawn(page);
    const elements = await page.$$eval(`${classZone(1)} .own-grid li`, (lis) => lis.length);
    console.log(`${N} photos: ${elements} thumbnail elements in the page`);
    assert.ok(elements <= 60, `${elements} thumbnail elements for ${N} photos`);
    assert.ok(first.length >= 8, `${first.length} drawn`);
    for (const t of first) {
      const i = Number(t.title.match(/^photo-(\d+)\.png$/)[1]);
      assert.deepEqual(t.rgb, colour(i), t.title);
    }
    assert.ok(first.some((t) => t.title === name(0)));

    // The grid's height stands for every photo: scrolled to the end, the last ones are drawn.
    await scroll.evaluate((box) => { box.scrollTop = box.scrollHeight; });
    await page.waitForFunction(([sel, want]) => [...document.querySelectorAll(`${sel} li`)].some((li) => li.title === want
      && li.querySelector('canvas')), [`${classZone(1)} .own-grid`, name(N - 1)], { timeout: 10_000 });
    const last = await drawn(page);
    for (const t of last) {
      const i = Number(t.title.match(/^photo-(\d+)\.png$/)[1]);
      assert.deepEqual(t.rgb, colour(i), t.title);
      assert.ok(i > N / 2, `${t.title} drawn at the end of the grid`);
    }
    const after = await page.$$eval(`${classZone(1)} .own-grid li`, (lis) => lis.length);
    assert.ok(after <= 60, `${after} thumbnail elements after scrolling`);
    assert.equal(noErrors(ctx.app), null);
  });
