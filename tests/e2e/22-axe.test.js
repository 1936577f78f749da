// Accessibility as the web checks it: axe-core (pinned in package.json) run inside the page in
// its main states reports no violation. The page's CSP forbids injected scripts, so the test
// evaluates axe's source through the browser's debugging protocol, which the CSP does not cover.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  openApp, train, chooseFiles, waitForCards, waitForStatus, photoFromTestImage, garbageFile, noErrors,
} from './helpers.js';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const apps = [];
after(async () => {
  for (const a of apps) await a.close();
});

const photo = (name, index) => ({ name, mimeType: 'image/png', buffer: photoFromTestImage(index) });

/** axe's violations on the whole page: [{id, impact, nodes: ['selector: why', ...]}]. */
async function violations(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  return page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${(n.failureSummary ?? '').split('\n').slice(1).join(' ').trim()}`),
    })));
}

async function assertAccessible(page, state) {
  const found = await violations(page);
  console.log(`${state}: ${found.length} violations`);
  assert.deepEqual(found, [], `${state}: ${JSON.stringify(found, null, 2)}`);
}

test('axe-core finds no violation: loaded, trained, photos classified with an error card, inspection open, a folder classified, a saved model listed, own dataset with photos',
  { timeout: 180_000 }, async () => {
    const app = await openApp();
    apps.push(app);
    const { page } = app;
    await waitForStatus(page, 'ready', 30_000);
    await assertAccessible(page, 'loaded');

    await train(page, {});
    await page.waitForSelector('[data-testid=saved] li', { timeout: 30_000 });
    await assertAccessible(page, 'trained, a saved model listed');

    await chooseFiles(page, [photo('axe-cat.png', 1), garbageFile()]);
    const cards = await waitForCards(page, 2);
    assert.equal(cards.filter((c) => c.error).length, 1);
    await page.waitForSelector('#inspect:not([hidden])', { timeout: 30_000 });
    await assertAccessible(page, 'photos classified (one error card), inspection panel open');

    // A folder classified: its progress, the counts that filter the list, the list itself.
    const folder = await mkdtemp(path.join(tmpdir(), 'purrceptron-axe-'));
    try {
      for (const i of [1, 2]) await writeFile(path.join(folder, `f${i}.png`), photoFromTestImage(i));
      await writeFile(path.join(folder, 'notes.txt'), 'not a photo');
      await page.setInputFiles('[data-testid=folder-input]', folder);
      await page.waitForFunction(() => /^3 of 3 photos classified\.$/.test(document.querySelector('[data-testid=folder-progress]').textContent),
        null, { timeout: 30_000 });
      await assertAccessible(page, 'a folder classified');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }

    await page.setInputFiles('#own-cat-files', [1, 2, 3].map((i) => photo(`own-cat-${i}.png`, i)));
    await page.setInputFiles('#own-other-files', [4, 5, 6].map((i) => photo(`own-other-${i}.png`, i)));
    await page.waitForFunction(() => !document.querySelector('#own-build').disabled, null, { timeout: 30_000 });
    await assertAccessible(page, 'own dataset with photos');
    assert.equal(noErrors(app), null);
  });
