// Saved models: every model trained or loaded here is kept in IndexedDB as the bytes of its
// model file (the format the command line reads and writes) with its receipt, so nothing is lost
// on reload. A saved model can be chosen for classifying, renamed, downloaded or deleted, and a
// model file from disk can be loaded.
//
// The model itself stays opaque: its bytes go to the worker ('load-model') and its description
// is whatever the worker's `info` says.

const DB_NAME = 'purrceptron';
const STORE = 'models';
/** Earlier runs drawn under the current cost curve. */
const OVERLAY_RUNS = 3;

import { $, finite, percent, formatCount, downloadBytes } from './helpers.js';
import { REQUEST, KindError } from './protocol.js';

// ---- IndexedDB, promisified ---------------------------------------------------------------------

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function openDb() {
  const r = indexedDB.open(DB_NAME, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
  return request(r);
}

async function inStore(mode, f) {
  const db = await openDb();
  try {
    const tx = db.transaction(STORE, mode);
    const result = await request(f(tx.objectStore(STORE)));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    return result;
  } finally {
    db.close();
  }
}

const db = {
  all: () => inStore('readonly', (s) => s.getAll()),
  get: (id) => inStore('readonly', (s) => s.get(id)),
  add: (record) => inStore('readwrite', (s) => s.add(record)),
  put: (record) => inStore('readwrite', (s) => s.put(record)),
  delete: (id) => inStore('readwrite', (s) => s.delete(id)),
};

// ---- describing a model -------------------------------------------------------------------------

/** "logistic regression", "network [20, 7, 5]" or the file's kind for other models. */
export function kindName(info) {
  const hidden = info?.hyperparams?.hidden;
  if (info?.kind === 'network' && Array.isArray(hidden)) {
    return hidden.length === 0 ? 'logistic regression' : `network [${hidden.join(', ')}]`;
  }
  return String(info?.kind ?? 'model');
}

function receiptText(info) {
  const h = info?.hyperparams ?? {};
  const r = info?.receipt ?? {};
  const parts = [kindName(info)];
  const hyper = [];
  if (finite(r.iterations_run)) hyper.push(`${formatCount(r.iterations_run)} it`);
  if (finite(h.learning_rate)) hyper.push(`lr ${h.learning_rate}`);
  if (finite(h.l2) && h.l2 > 0) hyper.push(`L2 ${h.l2}`);
  if (finite(h.seed)) hyper.push(`seed ${h.seed}`);
  if (hyper.length) parts.push(hyper.join(', '));
  if (finite(r.final_cost)) parts.push(`final cost ${r.final_cost.toFixed(6)}`);
  parts.push(`train ${percent(r.train_accuracy)}, test ${percent(r.test_accuracy)}`);
  // The classic two go without saying; other classes are named.
  const classes = Array.isArray(info?.classes) ? info.classes : [];
  if (classes.length && !(classes.length === 2 && classes[0] === 'non-cat' && classes[1] === 'cat')) {
    parts.push(`classes: ${classes.join(', ')}`);
  }
  if (r.dataset_sha256) parts.push(`data ${String(r.dataset_sha256).slice(0, 12)}…`);
  if (r.created) parts.push(String(r.created).replace('T', ' ').replace(/:\d\dZ$/, ' UTC'));
  return parts.join(' · ');
}

function defaultName(info) {
  const r = info?.receipt ?? {};
  return `${kindName(info)}, test ${percent(r.test_accuracy)}`;
}

/** A file name made of the model's name: letters, digits, dashes. */
function fileName(name) {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  return `${slug || 'model'}.safetensors`;
}

// ---- the panel ----------------------------------------------------------------------------------

/**
 * Wires the saved-models panel. `app`: {call, status, isTraining, ensureBackbone, onChosen(record)}.
 * `ensureBackbone()` loads the pretrained network a pretrained-feature model needs. `onChosen` runs whenever the worker's current model becomes a saved one
 * (chosen, loaded from a file, restored on reload); `record` is {id, name, info, ...}.
 * Returns {load(bytes, name), start(), trained(name)}.
 */
export function initSaved(app) {
  const el = {
    list: $('saved'),
    empty: $('saved-empty'),
    file: $('model-file'),
  };
  let records = [];
  let currentId = null;
  let curveId = null; // the saved run whose curve is the current one on the chart
  let onRuns = () => {};
  const { status } = app;
  const report = (e) => status.report(e);

  function render() {
    el.empty.hidden = records.length > 0;
    el.list.replaceChildren(...records.map(item));
    showRuns();
  }

  // The earlier runs drawn under the current curve: every saved run but the one it is.
  function showRuns() {
    const runs = records
      .filter((r) => r.id !== curveId && Array.isArray(r.info?.costs) && r.info.costs.length > 0)
      .slice(0, OVERLAY_RUNS)
      .map((r) => ({ name: r.name, costs: r.info.costs, iterations: r.info.receipt?.iterations_run ?? 1 }));
    onRuns(runs);
  }

  function item(record) {
    const li = document.createElement('li');
    li.className = 'saved-model';
    li.dataset.testid = 'saved-model';
    li.dataset.id = String(record.id);
    if (record.id === currentId) li.setAttribute('aria-current', 'true');
    const head = document.createElement('div');
    head.className = 'saved-head';
    const name = document.createElement('span');
    name.className = 'saved-name';
    name.dataset.testid = 'saved-name';
    name.textContent = record.name;
    head.append(name);
    if (record.id === currentId) {
      const badge = document.createElement('span');
      badge.className = 'saved-current';
      badge.textContent = 'in use';
      head.append(badge);
    }
    const receipt = document.createElement('p');
    receipt.className = 'receipt';
    receipt.dataset.testid = 'receipt';
    receipt.textContent = receiptText(record.info);
    if (record.info?.receipt?.dataset_sha256) receipt.title = `dataset sha256 ${record.info.receipt.dataset_sha256}`;
    const actions = document.createElement('div');
    actions.className = 'saved-actions';
    const button = (action, text, label) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.action = action;
      b.textContent = text;
      b.setAttribute('aria-label', `${label} ${record.name}`);
      b.addEventListener('click', () => act(action, record.id, li).catch(report));
      actions.append(b);
      return b;
    };
    button('use', 'Use', 'Use').disabled = record.id === currentId;
    button('rename', 'Rename', 'Rename');
    button('download', 'Download', 'Download');
    button('delete', 'Delete', 'Delete');
    li.append(head, receipt, actions);
    return li;
  }

  /**
   * Makes a model file's bytes (an ArrayBuffer, kept: copies are sent) the worker's current
   * model and returns its info. A pretrained-feature model needs the backbone: if the worker
   * has none yet, it is loaded (fetched the first time) and the file sent again.
   */
  async function loadBytes(bytes) {
    const send = () => {
      const copy = bytes.slice(0);
      return app.call(REQUEST.LOAD_MODEL, { bytes: copy }, [copy]).reply;
    };
    let r = await send();
    if (r.needs_backbone) {
      await app.ensureBackbone();
      r = await send();
      if (r.needs_backbone) throw new KindError('model', 'this model needs the pretrained network, which could not be loaded');
    }
    return r.info;
  }

  async function reload() {
    records = (await db.all()).sort((a, b) => b.id - a.id);
    render();
  }

  async function act(action, id, li) {
    const record = records.find((r) => r.id === id);
    if (!record) return;
    status.clearError();
    if (action === 'use') {
      await use(record);
    } else if (action === 'rename') {
      rename(record, li);
    } else if (action === 'download') {
      download(record);
    } else if (action === 'delete') {
      await db.delete(id);
      if (curveId === id) curveId = null;
      status.announce(`Deleted ${record.name}.`);
      await reload();
    }
  }

  async function use(record, { restoring = false } = {}) {
    if (app.isTraining()) throw new KindError('state', 'A training is running: wait for it to finish (or cancel it) before choosing another model.');
    const full = await db.get(record.id);
    if (!full) throw new Error(`${record.name} is no longer saved.`);
    // The stored buffer stays here: loadBytes sends copies.
    const info = await loadBytes(full.bytes);
    currentId = record.id;
    await db.put({ ...full, used: Date.now() });
    await reload();
    app.onChosen({ ...record, info }, { restoring });
    if (!restoring) status.announce(`Now classifying with ${record.name}.`);
  }

  function rename(record, li) {
    const name = li.querySelector('.saved-name');
    const input = document.createElement('input');
    input.type = 'text';
    input.className = 'saved-rename';
    input.dataset.testid = 'rename-input';
    input.value = record.name;
    input.setAttribute('aria-label', `New name for ${record.name}`);
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const value = input.value.trim();
      if (save && value && value !== record.name) {
        const full = await db.get(record.id);
        if (full) await db.put({ ...full, name: value });
        status.announce(`Renamed to ${value}.`);
      }
      await reload();
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') finish(true).catch(report);
      if (event.key === 'Escape') finish(false).catch(report);
    });
    input.addEventListener('blur', () => finish(true).catch(report));
    name.replaceWith(input);
    input.focus();
    input.select();
  }

  async function download(record) {
    const full = await db.get(record.id);
    if (!full) throw new Error(`${record.name} is no longer saved.`);
    downloadBytes(full.bytes, fileName(record.name), 10_000);
  }

  /** Stores the worker's current model (its file bytes and `info`) and marks it current. */
  async function keepCurrent(name, info) {
    const { bytes } = await app.call(REQUEST.EXPORT_MODEL).reply;
    const now = Date.now();
    const id = await db.add({ name, info, bytes, saved: new Date(now).toISOString(), used: now });
    currentId = id;
    return id;
  }

  async function loadFile(file) {
    if (app.isTraining()) {
      status.showError('A training is running: wait for it to finish (or cancel it) before loading a model file.');
      return;
    }
    status.clearError();
    let info;
    try {
      info = await loadBytes(await file.arrayBuffer());
    } catch (e) {
      status.report(e, `Cannot load ${file.name || 'this file'}: ${e.message}. Choose a model file ` +
        '(.safetensors) downloaded from this page or written by `purrceptron train`.');
      return;
    }
    await keepLoaded(file.name.replace(/\.safetensors$/i, '') || defaultName(info), info);
  }

  // The worker's model, just loaded from a file, joins the list as `name` and is the one in use.
  async function keepLoaded(name, info) {
    try {
      await keepCurrent(name, info);
    } catch (e) {
      status.report(e, `The model is loaded but could not be saved in this browser: ${e.message}`);
    }
    await reload();
    app.onChosen({ id: currentId, name, info }, { restoring: false });
    status.announce(`Loaded ${name}.`);
  }

  el.file.addEventListener('change', () => {
    const file = el.file.files?.[0];
    // Choosing the same file again should load it again.
    el.file.value = '';
    if (file) loadFile(file);
  });

  return {
    /**
     * Makes a model file's bytes (an ArrayBuffer) the model in use and keeps it in the list as
     * `name` (a project's model); throws what the worker says is wrong with the file.
     */
    async load(bytes, name) {
      if (app.isTraining()) throw new KindError('state', 'A training is running: wait for it to finish (or cancel it) first.');
      const info = await loadBytes(bytes);
      await keepLoaded(name || defaultName(info), info);
      return info;
    },

    /** Lists the saved models and, if any, makes the most recently used one current again. */
    async start(runsChanged) {
      onRuns = runsChanged;
      try {
        await reload();
      } catch (e) {
        status.report(e, `Saved models are unavailable in this browser: ${e.message}`);
        return;
      }
      if (records.length === 0) return;
      const last = records.reduce((a, b) => ((b.used ?? 0) > (a.used ?? 0) ? b : a));
      try {
        await use(last, { restoring: true });
      } catch (e) {
        // The list stays usable: another saved model can still be chosen.
        status.report(e, `Cannot use the saved model ${last.name}: ${e.message}`);
      }
    },

    /** After a training: keeps the new model (info from the 'trained' reply). */
    async trained(info) {
      try {
        curveId = await keepCurrent(defaultName(info), info);
      } catch (e) {
        status.report(e, `The model is trained but could not be saved in this browser: ${e.message}`);
      }
      await reload();
      return records.find((r) => r.id === currentId);
    },

    /** A training started: every saved run is now an earlier run. Only the chart changes: the
     * list stays as it is (rebuilding it cost the training's first frame a layout of the panel). */
    trainingStarted() {
      curveId = null;
      showRuns();
    },
  };
}
