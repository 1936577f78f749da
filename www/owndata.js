// "Your own dataset": a list of classes (2 to 20; cats and everything else to start with), each
// a drop zone that takes photos or whole folders, named, added and removed by the person. Each
// photo is sent to the worker on its own, preprocessed there by the Rust code the CLI uses, and
// shown as the 64x64 image the model will see. Nothing is uploaded: files are read from disk.

import { $, plural, formatCount, describeSplits, downloadBytes, filesOf } from './helpers.js';
import { REQUEST, KindError } from './protocol.js';
import { createThumbGrid } from './thumbs.js';

// Photos that could not be read are each named, up to this many a class; then only counted.
const BAD_LIMIT = 50;
const MAX_CLASSES = 20;
const MAX_NAME = 64;

/**
 * A class of the list: its label in the worker's photo set (labels follow the order classes
 * were created in, and close up when one is removed), its name and its zone's elements.
 * @typedef {Object} OwnClass
 * @property {number} label
 * @property {string} name
 * @property {HTMLElement} zone
 * @property {HTMLInputElement} nameInput
 * @property {HTMLElement} count
 * @property {HTMLElement} grid
 * @property {HTMLElement} bad
 * @property {{setTotal: function(number): void, redraw: function(): void}} thumbs
 * @property {HTMLButtonElement} remove
 */

/**
 * Wires the panel. `call(type, payload, transfer)` talks to the worker; `status` is status.js's;
 * `onDataset(summary)` tells the page which dataset training now uses; `webcam` (webcam.js)
 * records frames into a class. Returns {load(bytes, what)}.
 */
export function initOwnData({ call, status, onDataset, hasBuiltin, webcam }) {
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
    zones: $('own-zones'),
    add: $('class-add'),
    template: $('own-class-template'),
  };
  /** @type {OwnClass[]} in the order shown */
  const classes = [];
  const queue = [];
  let pumping = null;
  let counts = []; // {given, ok} by label
  let hasOwn = false;
  let busy = false;
  let made = 0; // zones made so far, for unique element ids
  let frames = 0; // webcam frames recorded so far, for their names

  const countOf = (c) => counts[c.label] ?? { given: 0, ok: 0 };
  // The worker's class names, by label.
  const names = () => classes.slice().sort((a, b) => a.label - b.label).map((c) => c.name);

  function refresh() {
    const waiting = queue.length > 0 || pumping !== null;
    el.build.disabled = busy || waiting || classes.some((c) => countOf(c).ok === 0);
    el.clear.disabled = busy || counts.every((c) => c.given === 0);
    el.exportButton.disabled = busy || !hasOwn;
    el.add.disabled = busy || classes.length >= MAX_CLASSES;
    // Without the classic set on the server there is nothing to switch back to.
    for (const r of el.radios) r.disabled = busy || !hasOwn || (r.value === 'builtin' && !hasBuiltin());
    for (const c of classes) {
      const { given, ok } = countOf(c);
      c.zone.dataset.count = String(ok);
      c.thumbs.setTotal(ok);
      c.remove.disabled = busy || classes.length <= 2;
      c.remove.setAttribute('aria-label', `Remove the class ${c.name}` + (given ? ` and its ${plural(given, 'photo', 'photos')}` : ''));
      c.count.textContent = given === 0
        ? (c.name === 'cat' ? 'Drop cat photos here.' : c.name === 'non-cat' ? 'Drop photos without cats here.'
          : `Drop photos of ${c.name} here.`)
        : `${plural(ok, 'photo', 'photos')}` + (given > ok ? ` (${given - ok} could not be read)` : '') +
          (waiting ? ' — reading…' : '');
    }
  }

  // A photo that could not be read is named with the reason (the grid shows the others).
  function unreadable(c, r) {
    const shown = c.bad.querySelectorAll('.own-bad').length;
    if (shown < BAD_LIMIT) {
      const li = document.createElement('li');
      li.className = 'own-bad';
      li.textContent = `${r.name}: ${r.error}`;
      c.bad.append(li);
      return;
    }
    let more = c.bad.querySelector('.own-bad-more');
    if (!more) {
      more = document.createElement('li');
      more.className = 'own-bad-more';
      c.bad.append(more);
    }
    const { given, ok } = countOf(c);
    more.textContent = `… and ${formatCount(given - ok - BAD_LIMIT)} more that could not be read.`;
  }

  // One photo at a time: a folder of thousands never sits in memory whole. A photo's class is
  // looked up when it is sent, so a class renamed meanwhile still gets it; a removed one does not.
  async function pump() {
    while (queue.length) {
      const { owner, file, name } = queue.shift();
      if (!classes.includes(owner)) continue;
      try {
        const bytes = await file.arrayBuffer();
        const r = await call(REQUEST.DATASET_ADD, { label: owner.label, name, bytes }, [bytes]).reply;
        counts = r.counts;
        if (!r.ok) unreadable(owner, r);
      } catch (e) {
        report(e, `${name}: ${e.message}`);
      }
      refresh();
    }
  }

  function add(owner, items) {
    if (items.length === 0) return;
    clearError();
    for (const item of items) queue.push({ owner, ...item });
    if (!pumping) {
      pumping = pump().finally(() => {
        pumping = null;
        refresh();
        announce(`Your dataset: ${classes.map((c) => plural(countOf(c).ok, `${c.name} photo`, `${c.name} photos`)).join(', ')}.`);
      });
    }
    refresh();
  }

  // Names sort the photos before the seeded split: a folder's files are named by their path in
  // it, as the CLI names them, so the same folder gives the same split either way.
  const named = (files) => [...files].map((file) => ({ file, name: file.webkitRelativePath || file.name }));

  // The worker's classes become `list` (names by new label) with the photos of `from` (old
  // labels, -1 for none); the page's classes take their new labels from `labels`.
  async function setClasses(list, from) {
    await pumping;
    const r = await call(REQUEST.DATASET_CLASSES, { names: list, from }).reply;
    counts = r.counts;
    return r;
  }

  /** Why `name` cannot name class `c` (null when it can). */
  function nameProblem(name, c) {
    if (name === '') return 'A class needs a name.';
    if ([...name].length > MAX_NAME) return `A class name has at most ${MAX_NAME} characters.`;
    if (classes.some((o) => o !== c && o.name === name)) return `There is already a class named “${name}”.`;
    return null;
  }

  // A zone for a class of label `label` named `name`; `legacy` keeps the element ids the first
  // two zones have always had (own-cat-*, own-other-*, own-zone-cat, own-zone-other).
  function makeZone(label, name, legacy) {
    made++;
    const id = legacy ? `own-${legacy}` : `own-class-${made}`;
    const zone = el.template.content.firstElementChild.cloneNode(true);
    const q = (sel) => zone.querySelector(sel);
    /** @type {OwnClass} */
    const c = {
      label, name, zone, nameInput: q('.own-name'), count: q('.own-count'), grid: q('.own-grid'), bad: q('.own-bad-list'),
      remove: q('.own-remove'),
    };
    c.thumbs = createThumbGrid({
      box: q('.own-scroll'),
      list: c.grid,
      // The class's label when asked: a class removed before it meanwhile closed the labels up.
      fetch: (from, count) => call(REQUEST.DATASET_THUMBNAILS, { label: c.label, from, count }).reply,
      onError: (e) => report(e, `The thumbnails of ${c.name} could not be drawn: ${e.message}`),
    });
    c.nameInput.id = `${id}-name`;
    c.nameInput.value = name;
    q('.own-name-label').htmlFor = c.nameInput.id;
    const files = q('.own-files-input');
    const folder = q('.own-folder-input');
    files.id = `${id}-files`;
    folder.id = `${id}-folder`;
    q('.own-files-label').htmlFor = files.id;
    q('.own-folder-label').htmlFor = folder.id;
    c.count.id = `${id}-count`;
    c.grid.id = `${id}-grid`;
    c.bad.id = `${id}-bad`;
    files.setAttribute('aria-describedby', c.nameInput.id);
    folder.setAttribute('aria-describedby', c.nameInput.id);
    c.grid.setAttribute('aria-label', `Your ${name} photos, as the model sees them`);
    if (legacy) zone.id = `own-zone-${legacy}`;
    zone.dataset.label = String(label);
    for (const input of [files, folder]) {
      input.addEventListener('change', () => {
        add(c, named(input.files ?? []));
        input.value = '';
      });
    }
    c.nameInput.addEventListener('change', () => rename(c));
    // Webcam frames join the class as photos named by the class and their number.
    const record = q('.own-webcam');
    record.setAttribute('aria-describedby', c.nameInput.id);
    webcam.hold(record, (blob) => {
      frames++;
      add(c, [{ file: blob, name: `webcam-${String(frames).padStart(5, '0')}.jpg` }]);
    });
    c.remove.addEventListener('click', () => remove(c));
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      zone.classList.add('own-over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('own-over'));
    zone.addEventListener('drop', async (event) => {
      // Prevented, so the page's "classify what is dropped" handler leaves these photos alone:
      // they are training data.
      event.preventDefault();
      zone.classList.remove('own-over');
      // Entries must be taken during the event: the DataTransfer is emptied once it returns.
      const entries = [...(event.dataTransfer?.items ?? [])]
        .map((item) => (item.kind === 'file' && item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
      const dropped = [...(event.dataTransfer?.files ?? [])];
      if (entries.length === dropped.length && entries.every(Boolean)) {
        const items = [];
        for (const [i, entry] of entries.entries()) {
          if (entry.isFile) items.push({ file: dropped[i], name: dropped[i].name });
          else items.push(...(await filesOf(entry).catch((e) => { report(e, `${entry.name}: ${e.message}`); return []; })));
        }
        add(c, items);
      } else {
        add(c, named(dropped));
      }
    });
    return c;
  }

  function rename(c) {
    const name = c.nameInput.value.trim();
    const problem = nameProblem(name, c);
    if (problem) {
      c.nameInput.setAttribute('aria-invalid', 'true');
      report(new KindError('parameter', problem));
      c.nameInput.value = c.name;
      return;
    }
    c.nameInput.removeAttribute('aria-invalid');
    if (name === c.name) return;
    const before = c.name;
    c.name = name;
    run(async () => {
      try {
        await setClasses(names(), names().map((_, i) => i));
        c.grid.setAttribute('aria-label', `Your ${name} photos, as the model sees them`);
        announce(`The class “${before}” is now “${name}”.`);
      } catch (e) {
        c.name = before;
        c.nameInput.value = before;
        throw e;
      }
    });
  }

  function addClass() {
    if (classes.length >= MAX_CLASSES) return;
    let n = classes.length + 1;
    while (classes.some((c) => c.name === `class ${n}`)) n++;
    const name = `class ${n}`;
    run(async () => {
      const list = [...names(), name];
      await setClasses(list, list.map((_, i) => (i < classes.length ? i : -1)));
      const c = makeZone(classes.length, name, null);
      classes.push(c);
      el.zones.append(c.zone);
      c.nameInput.focus();
      c.nameInput.select();
      announce(`Added the class “${name}”: name it, then give it photos.`);
    });
  }

  function remove(c) {
    if (classes.length <= 2) return;
    run(async () => {
      const kept = classes.filter((o) => o !== c).sort((a, b) => a.label - b.label);
      await setClasses(kept.map((o) => o.name), kept.map((o) => o.label));
      classes.splice(classes.indexOf(c), 1);
      kept.forEach((o, i) => { o.label = i; o.zone.dataset.label = String(i); });
      c.zone.remove();
      announce(`Removed the class “${c.name}” and its photos.`);
    });
  }

  // The classic two to start with, cats first as people read them: labels 1 and 0 in the worker.
  for (const [label, name, legacy] of [[1, 'cat', 'cat'], [0, 'non-cat', 'other']]) {
    const c = makeZone(label, name, legacy);
    classes.push(c);
    el.zones.append(c.zone);
  }
  el.add.addEventListener('click', addClass);

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
    counts = r.counts ?? [];
    for (const c of classes) {
      c.bad.replaceChildren();
      c.thumbs.redraw();
    }
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

  async function load(bytes, what) {
    const r = await call(REQUEST.DATASET_LOAD, { bytes }, [bytes]).reply;
    showOwn(r.summary, what);
    return r.summary;
  }

  el.load.addEventListener('change', () => {
    const file = el.load.files?.[0];
    el.load.value = '';
    if (!file) return;
    run(async () => load(await file.arrayBuffer(), `Loaded ${file.name}`));
  });

  refresh();
  return {
    /**
     * Makes a dataset file's bytes (an ArrayBuffer, transferred) your own dataset, in use;
     * `what` starts the summary line. Throws what the worker says is wrong with the file.
     */
    async load(bytes, what) {
      busy = true;
      refresh();
      try {
        return await load(bytes, what);
      } finally {
        busy = false;
        refresh();
      }
    },
  };
}
