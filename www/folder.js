// "A whole folder": every photo of a chosen or dropped folder (and its sub-folders) classified
// with the model in use, one photo at a time: read from disk, sent to the worker, and forgotten
// but for its result, so thousands of photos never sit in memory. Progress with the time left, a
// count per class that filters the list, and "Export results": the CSV that `purrceptron predict
// --csv` writes for the same model and files (the worker writes it with the same Rust code).

import { $, plural, formatCount, formatSeconds, downloadBytes } from './helpers.js';
import { REQUEST } from './protocol.js';

// Rows drawn at a time: the list of a big folder stays a few hundred elements.
const PAGE = 100;
// Redraw the counts and list at most this often (ms) while photos stream in.
const REDRAW_MS = 250;

/**
 * A photo of the run: `file` (its path inside the folder, as the CSV names it), then either
 * `label` and `probabilities` (one per class, label order) or `error`.
 * @typedef {Object} FolderResult
 * @property {string} file
 * @property {string} [label]
 * @property {Array<number>} [probabilities]
 * @property {string} [error]
 */

/** A file is hidden when a part of its path starts with a dot, as the CLI skips it. */
const hidden = (path) => path.split('/').some((part) => part.startsWith('.'));

/**
 * Wires the folder panel. `call` talks to the worker, `status` is status.js's, `hasModel()`
 * says whether a model is in use. Returns {run(items), stop()}: `run` takes [{file, name}]
 * (name: the path inside the folder), `stop` ends a run (a training starting ends it too).
 */
export function createFolder({ call, status, hasModel }) {
  const el = {
    input: $('folder-input'),
    panel: $('folder-run'),
    progress: $('folder-progress'),
    bar: $('folder-bar'),
    stop: $('folder-stop'),
    summary: $('folder-summary'),
    exportButton: $('export-results'),
    rows: $('folder-rows'),
    more: $('folder-more'),
  };
  /** @type {{results: FolderResult[], classes: string[]|null, total: number, started: number, stopped: boolean, generation: number}} */
  const run = { results: [], classes: null, total: 0, started: 0, stopped: false, generation: 0 };
  let filter = 'all';
  let shown = PAGE;
  let redrawAt = 0;

  function progressText(done) {
    const { total } = run;
    if (done === total) return `${formatCount(total)} of ${formatCount(total)} photos classified.`;
    if (run.stopped) return `Stopped after ${formatCount(done)} of ${formatCount(total)} photos.`;
    const elapsed = (performance.now() - run.started) / 1000;
    const left = done > 0 ? ` About ${formatSeconds(elapsed * (total - done) / done)} left.` : '';
    return `${formatCount(done)} of ${formatCount(total)} photos classified.${left}`;
  }

  // The filter buttons: every photo, each class with its count, and the photos not read.
  function drawSummary() {
    const counts = new Map((run.classes ?? []).map((c) => [c, 0]));
    let errors = 0;
    for (const r of run.results) {
      if (r.error !== undefined) errors++;
      else counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
    }
    const button = (key, text, n) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'filter';
      b.dataset.testid = 'folder-filter';
      b.dataset.filter = key;
      b.dataset.count = String(n);
      b.setAttribute('aria-pressed', String(filter === key));
      b.textContent = `${text} (${formatCount(n)})`;
      b.addEventListener('click', () => {
        filter = key;
        shown = PAGE;
        draw(true);
      });
      return b;
    };
    const buttons = [button('all', 'All', run.results.length)];
    for (const [c, n] of counts) buttons.push(button(`class:${c}`, c, n));
    if (errors) buttons.push(button('errors', 'Not read', errors));
    el.summary.replaceChildren(...buttons);
  }

  const matches = (r) => filter === 'all' || (filter === 'errors' ? r.error !== undefined
    : r.error === undefined && filter === `class:${r.label}`);

  function drawRows() {
    const picked = run.results.filter(matches);
    const rows = picked.slice(0, shown).map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'folder-result';
      const name = document.createElement('td');
      name.textContent = r.file;
      const verdict = document.createElement('td');
      const p = document.createElement('td');
      if (r.error !== undefined) {
        tr.className = 'is-error';
        verdict.textContent = 'not read';
        p.textContent = r.error;
      } else {
        verdict.textContent = r.label;
        p.textContent = `${(100 * r.probabilities[run.classes.indexOf(r.label)]).toFixed(1)}%`;
      }
      tr.append(name, verdict, p);
      return tr;
    });
    el.rows.replaceChildren(...rows);
    el.more.hidden = picked.length <= shown;
    el.more.textContent = `Show more (${formatCount(Math.min(shown, picked.length))} of ${formatCount(picked.length)} shown)`;
  }

  // Counts and list: at once when asked (`now`), else at most every REDRAW_MS.
  function draw(now = false) {
    const done = run.results.length;
    el.progress.textContent = progressText(done);
    el.bar.max = Math.max(1, run.total);
    el.bar.value = done;
    if (!now && performance.now() - redrawAt < REDRAW_MS && done < run.total) return;
    redrawAt = performance.now();
    drawSummary();
    drawRows();
    el.exportButton.disabled = done === 0;
  }

  /** Classifies the photos of `items` ([{file, name}]) one at a time. */
  async function start(items) {
    if (!hasModel()) {
      status.showError('Train a model or choose a saved one first: the folder is classified with the model in use.');
      return;
    }
    const photos = items.filter((i) => !hidden(i.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const mine = ++run.generation;
    Object.assign(run, { results: [], classes: null, total: photos.length, started: performance.now(), stopped: false });
    filter = 'all';
    shown = PAGE;
    el.panel.hidden = false;
    el.stop.hidden = false;
    draw(true);
    status.announce(`Classifying ${plural(photos.length, 'photo', 'photos')} of the folder.`);
    for (const { file, name } of photos) {
      if (mine !== run.generation || run.stopped) return;
      try {
        const bytes = await file.arrayBuffer();
        const r = await call(REQUEST.CLASSIFY, { bytes, name }, [bytes]).reply;
        if (mine !== run.generation) return;
        run.classes ??= r.classes;
        if (r.classes.join('\n') !== run.classes.join('\n')) {
          throw new Error('the model in use changed during the run: classify the folder again');
        }
        run.results.push({ file: name, label: r.label, probabilities: run.classes.map((c) => r.probabilities[c]) });
      } catch (e) {
        if (mine !== run.generation) return;
        // A photo that cannot be read is a row with its reason; a crash or a changed model ends
        // the run with what it has.
        run.results.push({ file: name, error: e.message });
        if (e.crash || /model in use changed/.test(e.message)) {
          run.stopped = true;
          status.report(e);
        }
      }
      draw();
    }
    el.stop.hidden = true;
    draw(true);
    status.announce(progressText(run.results.length));
  }

  async function exportCsv() {
    if (!run.results.length) return;
    try {
      const classes = run.classes ?? [];
      const { csv } = await call(REQUEST.RESULTS_CSV, { classes, rows: run.results }).reply;
      downloadBytes(new TextEncoder().encode(csv), 'results.csv', 10_000);
      status.announce(`Exported the results of ${plural(run.results.length, 'photo', 'photos')}.`);
    } catch (e) {
      status.report(e, `Cannot export the results: ${e.message}`);
    }
  }

  el.input.addEventListener('change', () => {
    const files = [...el.input.files];
    el.input.value = '';
    start(files.map((file) => ({ file, name: file.webkitRelativePath || file.name })));
  });
  el.stop.addEventListener('click', () => {
    run.stopped = true;
    el.stop.hidden = true;
    draw(true);
  });
  el.more.addEventListener('click', () => {
    shown += PAGE;
    drawRows();
  });
  el.exportButton.addEventListener('click', exportCsv);

  return {
    run: start,
    stop() {
      if (run.results.length < run.total) run.stopped = true;
      el.stop.hidden = true;
    },
  };
}
