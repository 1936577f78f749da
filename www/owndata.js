// "Your own dataset": two drop zones (cats / not cats) that take photos or whole folders. Each
// photo is sent to the worker on its own, preprocessed there by the Rust code the CLI uses, and
// shown as the 64x64 image the model will see. Nothing is uploaded: files are read from disk.

import { $, plural, formatCount, describeSplits, rgbaCanvas, downloadBytes, filesOf } from './helpers.js';
import { REQUEST, KindError } from './protocol.js';

// Enough thumbnails to check a folder at a glance; the counts cover every photo.
const GRID_LIMIT = 120;

/**
 * Wires the panel. `call(type, payload, transfer)` talks to the worker; `status` is status.js's;
 * `onDataset(summary)` tells the page which dataset training now uses.
 */
export function initOwnData({ call, status, onDataset, hasBuiltin }) {
  const { announce, clearError } = status;
  const report = (e, text) => status.report(e, text);
  const el = {
    form: $('own-form'),
    fraction: $('own-test-fraction'),
    seed: $('own-seed'),
    build: $('own-build'),
    clear: $('own-clear'),
    summary: $('own-summary'),
    exportButton: $('own-export'),
    load: $('own-load'),
    radios: [...document.querySelectorAll('input[name=own-use]')],
  };
  const zones = {
    1: { zone: $('own-zone-cat'), grid: $('own-cat-grid'), count: $('own-cat-count'), files: $('own-cat-files'),
      folder: $('own-cat-folder'), what: 'cat' },
    0: { zone: $('own-zone-other'), grid: $('own-other-grid'), count: $('own-other-count'), files: $('own-other-files'),
      folder: $('own-other-folder'), what: 'non-cat' },
  };
  const queue = [];
  let pumping = null;
  let counts = { cats: 0, non_cats: 0, cats_ok: 0, non_cats_ok: 0 };
  let hasOwn = false;
  let busy = false;

  function refresh() {
    const waiting = queue.length > 0 || pumping !== null;
    el.build.disabled = busy || waiting || counts.cats_ok === 0 || counts.non_cats_ok === 0;
    el.clear.disabled = busy || counts.cats + counts.non_cats === 0;
    el.exportButton.disabled = busy || !hasOwn;
    // Without the classic set on the server there is nothing to switch back to.
    for (const r of el.radios) r.disabled = busy || !hasOwn || (r.value === 'builtin' && !hasBuiltin());
    for (const [label, z] of Object.entries(zones)) {
      const given = label === '1' ? counts.cats : counts.non_cats;
      const ok = label === '1' ? counts.cats_ok : counts.non_cats_ok;
      z.zone.dataset.count = String(ok);
      z.count.textContent = given === 0
        ? (label === '1' ? 'Drop cat photos here.' : 'Drop photos without cats here.')
        : `${plural(ok, 'photo', 'photos')}` + (given > ok ? ` (${given - ok} could not be read)` : '') +
          (waiting ? ' — reading…' : '');
    }
  }

  function thumbnail(label, r) {
    const grid = zones[label].grid;
    if (grid.childElementCount >= GRID_LIMIT) return;
    const li = document.createElement('li');
    li.title = r.name;
    if (r.ok) {
      li.append(rgbaCanvas(r.rgba, 64, r.name));
    } else {
      li.className = 'own-bad';
      li.textContent = `${r.name}: ${r.error}`;
    }
    grid.append(li);
  }

  // One photo at a time: a folder of thousands never sits in memory whole.
  async function pump() {
    while (queue.length) {
      const { label, file, name } = queue.shift();
      try {
        const bytes = await file.arrayBuffer();
        const r = await call(REQUEST.DATASET_ADD, { label: Number(label), name, bytes }, [bytes]).reply;
        counts = r.counts;
        thumbnail(label, r);
      } catch (e) {
        report(e, `${name}: ${e.message}`);
      }
      refresh();
    }
  }

  function add(label, items) {
    if (items.length === 0) return;
    clearError();
    for (const item of items) queue.push({ label, ...item });
    if (!pumping) {
      pumping = pump().finally(() => {
        pumping = null;
        refresh();
        announce(`Your dataset: ${plural(counts.cats_ok, 'cat photo', 'cat photos')} and ` +
          `${plural(counts.non_cats_ok, 'other photo', 'other photos')}.`);
      });
    }
    refresh();
  }

  // Names sort the photos before the seeded split: a folder's files are named by their path in
  // it, as the CLI names them, so the same folder gives the same split either way.
  const named = (files) => [...files].map((file) => ({ file, name: file.webkitRelativePath || file.name }));

  for (const [label, z] of Object.entries(zones)) {
    for (const input of [z.files, z.folder]) {
      input.addEventListener('change', () => {
        add(label, named(input.files ?? []));
        input.value = '';
      });
    }
    z.zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      z.zone.classList.add('own-over');
    });
    z.zone.addEventListener('dragleave', () => z.zone.classList.remove('own-over'));
    z.zone.addEventListener('drop', async (event) => {
      // Prevented, so the page's "classify what is dropped" handler leaves these photos alone:
      // they are training data.
      event.preventDefault();
      z.zone.classList.remove('own-over');
      // Entries must be taken during the event: the DataTransfer is emptied once it returns.
      const entries = [...(event.dataTransfer?.items ?? [])]
        .map((item) => (item.kind === 'file' && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
      const files = [...(event.dataTransfer?.files ?? [])];
      if (entries.length === files.length && entries.every(Boolean)) {
        const items = [];
        for (const [i, entry] of entries.entries()) {
          if (entry.isFile) items.push({ file: files[i], name: files[i].name });
          else items.push(...(await filesOf(entry).catch((e) => { report(e, `${entry.name}: ${e.message}`); return []; })));
        }
        add(label, items);
      } else {
        add(label, named(files));
      }
    });
  }

  function readSplit() {
    const fraction = el.fraction.value.trim();
    const seed = el.seed.value.trim();
    if (fraction === '' || !Number.isFinite(Number(fraction))) {
      throw new KindError('parameter', 'Test fraction: enter a number, for example 0.2.');
    }
    // The seed is a 32-bit unsigned integer in Rust; anything else would be silently wrapped.
    if (!/^\d+$/.test(seed) || Number(seed) > 0xffffffff) {
      throw new KindError('parameter', 'Split seed: enter a whole number from 0 to 4294967295, for example 1.');
    }
    return { test_fraction: Number(fraction), seed: Number(seed) };
  }

  function showOwn(summary, what) {
    hasOwn = true;
    el.summary.textContent = `${what}: ${describeSplits(summary)}.`;
    el.summary.dataset.sha256 = summary.sha256;
    el.summary.dataset.train = String(summary.train.n);
    el.summary.dataset.test = String(summary.test.n);
    const code = document.createElement('code');
    code.textContent = summary.sha256;
    el.summary.append(' Content sha256: ', code);
    for (const r of el.radios) r.checked = r.value === 'own';
    onDataset(summary, 'own');
    announce(`${what}. Training now uses it: ${describeSplits(summary)}.`);
  }

  async function run(work) {
    busy = true;
    refresh();
    clearError();
    try {
      await work();
    } catch (e) {
      report(e);
    } finally {
      busy = false;
      refresh();
    }
  }

  el.form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (el.build.disabled) return;
    let split;
    try {
      split = readSplit();
    } catch (e) {
      report(e);
      return;
    }
    run(async () => {
      await pumping;
      const r = await call(REQUEST.DATASET_BUILD, split).reply;
      showOwn(r.summary, 'Your dataset is built');
    });
  });

  el.clear.addEventListener('click', () => run(async () => {
    queue.length = 0;
    await pumping;
    const r = await call(REQUEST.DATASET_CLEAR).reply;
    counts = r.counts ?? { cats: 0, non_cats: 0, cats_ok: 0, non_cats_ok: 0 };
    for (const z of Object.values(zones)) z.grid.replaceChildren();
    announce('Your photos are cleared. A dataset already built stays until you build or load another.');
  }));

  for (const radio of el.radios) {
    radio.addEventListener('change', () => run(async () => {
      if (!radio.checked) return;
      try {
        const r = await call(REQUEST.DATASET_USE, { which: radio.value }).reply;
        onDataset(r.summary, r.which);
        announce(`Training now uses ${r.which === 'own' ? 'your own dataset' : 'the classic set'}.`);
      } catch (e) {
        // The worker kept the dataset it had: show that one as chosen again.
        for (const r of el.radios) r.checked = !r.checked;
        throw e;
      }
    }));
  }

  el.exportButton.addEventListener('click', () => run(async () => {
    const r = await call(REQUEST.DATASET_EXPORT).reply;
    downloadBytes(r.bytes, 'my-dataset.safetensors', 1000);
    announce(`Dataset file exported (${formatCount(r.bytes.byteLength)} bytes).`);
  }));

  el.load.addEventListener('change', () => {
    const file = el.load.files?.[0];
    el.load.value = '';
    if (!file) return;
    run(async () => {
      const bytes = await file.arrayBuffer();
      const r = await call(REQUEST.DATASET_LOAD, { bytes }, [bytes]).reply;
      showOwn(r.summary, `Loaded ${file.name}`);
    });
  });

  refresh();
}
