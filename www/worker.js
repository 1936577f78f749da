// The worker owns the WebAssembly module, the dataset and the trained model, so that training
// and photo decoding never run on the page's thread. The messages are described in protocol.js.

import { handleDataset } from './owndata-worker.js';
import { REQUEST, REPLY, KindError, errorOf, TEST_MODE, predictedClass } from './protocol.js';
import { loadWasm, whole, samplesOf } from './wasm-load.js';
import { getFile, putFile } from './filestore.js';

// A step should take long enough that the per-step overhead (a yield, a progress check) is
// small, and short enough that a cancel is honoured within a frame or two.
const STEP_TARGET_MS = 25;
// Pooled features per image of the pretrained backbone.
const FEATURES = 1280;
// Progress messages are cheap, but the page only needs a few per 100 ms to look live.
const PROGRESS_INTERVAL_MS = 40;
// A training of iterations that ends within this gets no progress message: it looks instant
// anyway, and each frame the page draws for one (~15 ms of CPU in headless Chromium, software
// rendering) competes with the training on a two-core machine.
const FIRST_PROGRESS_MS = 100;

let wasm = null;
let memory = null; // for the size of the module's memory
let dataset = null; // the one training uses
let builtin = null; // the classic set, null when the server has none
let model = null;
let backbone = null; // the pretrained backbone (WasmBackbone), once the page has sent it
let training = null; // {id, cancelled}
let presets = [];
let holdStage = null; // test mode only: the stage trainings pause at (see protocol.js, 'hold')
// The pretrained model's features of both splits, by dataset sha256, backbone sha256 and side: a
// retraining of its head skips the extraction and the evaluation's pass through the backbone.
// Kept here and in IndexedDB (a reload too).
/**
 * `rows`: the training images' features, the test images', then maybe the training images'
 * mirrors', 1280 each; `train` and `test` count the images of each split.
 * @typedef {{rows: Float32Array, train: number, test: number, backbone_sha256: string, side: number}} KeptFeatures
 */
/** @type {Map<string, KeptFeatures>} by featureKey */
const featureCache = new Map();

// Start-up is not a request: it ends with 'ready' or 'startup-error', neither with an id.
const ready = (async () => {
  try {
    ({ wasm, memory, dataset } = await loadWasm());
    builtin = dataset;
    // No built-in dataset: the page says how to add it; own datasets, model files and photos work.
    const summary = dataset ? dataset.summary() : null;
    const samples = dataset ? samplesOf(dataset) : [];
    // The models' defaults live in the Rust core; the page fills its form from these.
    presets = wasm.presets();
    self.postMessage({ type: REPLY.READY, summary, samples, presets }, samples.map((s) => s.rgba.buffer));
    // Its failure costs a later training speed, not a result: said in the console only.
    warmUp().catch((e) => console.warn(`the warm-up stopped: ${e.message}`));
    return true;
  } catch (e) {
    self.postMessage({ type: REPLY.STARTUP_ERROR, ...errorOf(e) });
    return false;
  }
})();

// A yield to the event loop through a MessageChannel, not setTimeout(0): nested timers are
// clamped to 4 ms, which over the ~100 steps of a long training adds up to a visible delay.
const yieldChannel = new MessageChannel();
const yieldWaiters = [];
yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.();
const nextTask = () => new Promise((resolve) => {
  yieldWaiters.push(resolve);
  yieldChannel.port2.postMessage(null);
});

// Once ready, while nobody waits: the built-in dataset's Gram matrix (which every network
// training on it starts with), then logistic regression's default training on it, twice, through
// the path a person's training takes (the same steps, finish and info) with its model dropped.
// Why: the browser optimises a WebAssembly function in the background once it has run for a
// while, and uses the optimised code from its next call on. Without this, the first training in
// a fresh worker took 2-3 times as long as the next; with a shorter warm-up on made-up images,
// the functions only a real training runs long enough (its cost reports, the allocator) were
// still being optimised during a person's first training: ~100 ms of compilation on a two-core
// machine, competing with it. A training asked for meanwhile goes first: the rest is skipped.
const WARM_UP_RUNS = 2;
async function warmUp() {
  await nextTask();
  if (training || !builtin) return;
  builtin.prepare();
  for (let run = 0; run < WARM_UP_RUNS; run++) {
    await nextTask();
    if (training) return;
    const trainer = new wasm.WasmTrainer(builtin, { model: 'lr' });
    try {
      const report = await stepAll(trainer, () => training !== null, null);
      if (!report.finished) return;
      const fitted = trainer.finish(builtin, timestamp());
      fitted.info();
      fitted.free();
    } finally {
      trainer.free();
    }
  }
}

// Now, to the second, as the model files record it.
const timestamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * Steps `trainer` until it finishes or `stop()` says so, yielding to the event loop between
 * steps (a cancel, a photo to classify); gives each step's report and the time to `onStep`, if
 * any. Returns the last report.
 */
async function stepAll(trainer, stop, onStep) {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    const report = trainer.step(n);
    const now = performance.now();
    // Aim each step at STEP_TARGET_MS, growing at most 4x at a time so a slow iteration
    // (a bigger network) cannot overshoot the target by much.
    n = Math.max(1, Math.min(n * 4, Math.round(n * STEP_TARGET_MS / Math.max(now - t0, 0.25))));
    onStep?.(report, now);
    if (report.finished) return report;
    await nextTask();
    // Held until cancelled or released (another 'hold'): test mode only.
    while (holdStage !== null && report.stage === holdStage && !stop()) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (stop()) return report;
  }
}

const noDataset = (what) => new KindError('state', `There is no dataset to ${what} yet: build or load your own ` +
  '(“Or your own dataset”), or add the classic set (the dataset panel says how).');
const noModel = (what) => new KindError('state', `There is no model to ${what} yet: train one or load one first.`);

// `features2`: the rows of both splits, then maybe the training images' mirrors (`features`
// held the training split's only: never read).
const featureKey = (datasetSha, backboneSha, side) => `features2:${datasetSha}:${backboneSha}:${side}`;

// The kept training features for this training, or null: from memory, else from IndexedDB.
async function cachedFeatures(key) {
  if (featureCache.has(key)) return featureCache.get(key);
  const [, , backboneSha, side] = key.split(':');
  const buffer = await getFile(key).catch(() => null);
  if (!buffer) return null;
  // The key names the dataset: it is the one in use, so its splits' sizes hold.
  const { train, test } = dataset.summary();
  const entry = { rows: new Float32Array(buffer), train: train.n, test: test.n, backbone_sha256: backboneSha, side: Number(side) };
  featureCache.set(key, entry);
  return entry;
}

function keepFeatures(key, features) {
  const entry = {
    rows: features.rows(), train: features.train_images(), test: dataset.summary().test.n,
    backbone_sha256: features.backbone_sha256(), side: features.side(),
  };
  features.free();
  featureCache.set(key, entry);
  // A full disk only costs the next visit an extraction.
  putFile(key, entry.rows.buffer.slice(0)).catch((e) => console.warn(`the training features are not kept: ${e.message}`));
}

// A pretrained-feature training: the backbone the page loaded and, if kept, the features.
async function startPretrained(params) {
  if (!backbone) {
    throw new KindError('state', 'The pretrained model needs the pretrained network, which is not loaded yet.');
  }
  const defaults = presets.find((p) => p.id === 'pretrained')?.spec ?? {};
  const side = params.side ?? defaults.side;
  const key = featureKey(dataset.summary().sha256, backbone.sha256(), side);
  const kept = await cachedFeatures(key);
  const cached = kept
    ? new wasm.WasmFeatures(kept.rows, kept.train, kept.test, kept.backbone_sha256, kept.side) : undefined;
  // A training with mirrors given features without them extracts just those.
  const complete = Boolean(kept) && (!params.flip || kept.rows.length > (kept.train + kept.test) * FEATURES);
  const features = complete ? 'cached' : kept ? 'mirrors' : 'extracted';
  return { key, features, trainer: wasm.WasmTrainer.with_backbone(dataset, params, backbone, cached) };
}

async function train(id, params) {
  if (training) throw new KindError('state', 'a training is already running: cancel it first');
  if (!dataset) throw noDataset('train on');
  training = { id, cancelled: false };
  const started = performance.now();
  let trainer = null;
  try {
    let features = null; // {key, features} for the pretrained model
    if (params?.model === 'pretrained') {
      const p = await startPretrained(params);
      trainer = p.trainer;
      features = { key: p.key, features: p.features };
    } else {
      // Networks on pixels start from the dataset's Gram matrix: computed once, kept with it.
      if (params?.model !== 'features') dataset.prepare();
      trainer = new wasm.WasmTrainer(dataset, params);
    }
    let lastPost = performance.now() + FIRST_PROGRESS_MS - PROGRESS_INTERVAL_MS;
    let lastStage = null;
    const report = await stepAll(trainer, () => training.cancelled, (report, now) => {
      const held = holdStage !== null && !report.finished && report.stage === holdStage;
      // Every stage is reported as it starts, however short it is, and as it ends; within one,
      // at most every PROGRESS_INTERVAL_MS. The end of iterations is reported by the result.
      const newStage = (report.stage ?? null) !== lastStage;
      const due = now - lastPost >= PROGRESS_INTERVAL_MS;
      if (held || newStage || (report.stage ? report.finished || due : due && !report.finished)) {
        lastPost = now;
        lastStage = report.stage ?? null;
        self.postMessage({
          type: REPLY.PROGRESS, id, done: report.done, iterations: report.iterations,
          cost: report.cost ?? null, cost_iteration: report.cost_iteration ?? null,
          stage: report.stage ?? null, stage_done: report.stage_done ?? null,
          elapsed: (now - started) / 1000,
        });
      }
    });
    const stopped = !report.finished;
    const ended = { type: REPLY.TRAINED, id, stopped, done: report.done, iterations: report.iterations };
    if (features) {
      ended.features = features.features;
      // Extracted in full (even if the fit was then cancelled): kept for the next training.
      const extracted = features.features === 'cached' ? undefined : trainer.features();
      if (extracted) keepFeatures(features.key, extracted);
    }
    // The feature models are only usable once every stage has run: a cancel discards them and
    // keeps the previous model, if any.
    if (stopped && report.stage) {
      return { ...ended, discarded: true, info: null, seconds: (performance.now() - started) / 1000 };
    }
    const fitted = trainer.finish(dataset, timestamp());
    const info = fitted.info();
    if (model) model.free();
    model = fitted;
    return { ...ended, info, seconds: (performance.now() - started) / 1000 };
  } finally {
    if (trainer) trainer.free();
    training = null;
  }
}

// The current model classifies; with none yet, the backbone and ImageNet's cat classes do.
function classify(id, bytes, name) {
  if (!model && !backbone) {
    throw new KindError('state', 'Train a model first: there is no model to classify photos with yet.');
  }
  const photo = new Uint8Array(bytes);
  const by = model ? 'model' : 'imagenet';
  const r = model ? model.classify(photo, 'crop') : backbone.imagenet(photo, 'crop');
  const seen = whole(r.seen_rgba);
  // Every class's probability by name; ImageNet's verdict is cat or not.
  const names = model ? model.classes() : ['non-cat', 'cat'];
  const each = model ? r.probabilities : [1 - r.probability, r.probability];
  const probabilities = Object.fromEntries(names.map((name, i) => [name, each[i]]));
  // ImageNet's verdict names its class; both it and a pretrained-feature model have a heat map.
  const extra = by === 'imagenet' ? { class_name: r.class_name, class_probability: r.class_probability } : {};
  if (r.heat) Object.assign(extra, { heat: Array.from(r.heat), heat_side: r.heat_side });
  self.postMessage({
    type: REPLY.CLASSIFIED, id, name, by, probability: r.probability, label: r.label, probabilities, classes: names,
    width: r.width, height: r.height, format: r.format, side: Math.round(Math.sqrt(seen.length / 4)),
    seen_rgba: seen, ...extra,
  }, [seen.buffer]);
}

// A bad file leaves the backbone loaded before (if any) in place.
function loadBackbone(id, bytes) {
  if (!(bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes))) {
    throw new KindError('internal', 'load-backbone needs the file\'s bytes (an ArrayBuffer or a Uint8Array)');
  }
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes)
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const loaded = new wasm.WasmBackbone(view);
  if (backbone) backbone.free();
  backbone = loaded;
  self.postMessage({ type: REPLY.BACKBONE_LOADED, id, sha256: loaded.sha256(), bytes: view.byteLength });
}

function loadModel(id, bytes) {
  if (!(bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes))) {
    throw new KindError('internal', 'load-model needs the file\'s bytes (an ArrayBuffer or a Uint8Array)');
  }
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes)
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const loaded = wasm.WasmModel.from_bytes(view);
  const info = loaded.info();
  const needs = loaded.backbone_sha256();
  if (needs) {
    // A pretrained-feature model: the page fetches the backbone and sends the file again.
    if (!backbone) {
      loaded.free();
      self.postMessage({ type: REPLY.MODEL_LOADED, id, info, needs_backbone: needs });
      return;
    }
    try {
      loaded.attach_backbone(backbone);
    } catch (e) {
      loaded.free();
      throw e;
    }
  }
  if (model) model.free();
  model = loaded;
  self.postMessage({ type: REPLY.MODEL_LOADED, id, info });
}

function exportModel(id) {
  if (!model) throw noModel('save');
  const bytes = whole(model.to_bytes()).buffer;
  self.postMessage({ type: REPLY.MODEL_BYTES, id, bytes }, [bytes]);
}

// The dataset in use and the model in use (if any) in one file. A model of other classes than
// the dataset's is refused by the core, with both lists.
function exportProject(id) {
  if (!dataset) throw noDataset('put in a project');
  const bytes = whole(wasm.project_bytes(dataset.to_bytes(), model ? model.to_bytes() : undefined));
  self.postMessage({ type: REPLY.PROJECT_EXPORTED, id, bytes }, [bytes.buffer]);
}

function openProject(id, bytes) {
  if (!(bytes instanceof ArrayBuffer)) throw new KindError('internal', 'project-open needs the file\'s bytes (an ArrayBuffer)');
  const project = new wasm.WasmProject(new Uint8Array(bytes));
  try {
    const reply = { type: REPLY.PROJECT_OPENED, id, dataset: whole(project.dataset_bytes()), classes: project.classes() };
    const modelBytes = project.model_bytes();
    if (modelBytes) reply.model = whole(modelBytes);
    self.postMessage(reply, [reply.dataset.buffer, ...(reply.model ? [reply.model.buffer] : [])]);
  } finally {
    project.free();
  }
}

// The current model's accuracy on the current dataset. A pretrained-feature model's receipt
// already holds its accuracies on the dataset it names (measured by the same code when it was
// trained): running the backbone over every image again would keep the worker from answering
// for many seconds (the page's watchdog restarts it after 15).
function evaluationOf(info, summary) {
  const r = info.receipt;
  if (info.kind !== 'pretrained' || r?.dataset_sha256 !== summary.sha256) return model.evaluate(dataset);
  const t = summary.test;
  return {
    train_accuracy: r.train_accuracy,
    test_accuracy: t.n ? r.test_accuracy : null,
    test_majority_baseline: t.n ? Math.max(t.cats, t.non_cats) / t.n : null,
    n_train: summary.train.n,
    n_test: t.n,
  };
}

// The probability of each class of each test image (images x classes). A pretrained-feature model's come from the test features its
// training extracted when they were kept for this dataset, backbone and side (the same numbers
// as the backbone would compute again, ~1 s of it saved).
function testProbabilities(info) {
  const kept = info.kind === 'pretrained'
    && featureCache.get(featureKey(dataset.summary().sha256, info.backbone_sha256, info.params?.side));
  if (!kept) return model.probabilities(dataset, 'test');
  return model.probabilities_of_features(kept.rows.subarray(kept.train * FEATURES, (kept.train + kept.test) * FEATURES));
}

// Everything the page needs to show how the current model does on the test split: accuracy,
// each test image's probability, the images themselves and, for networks on pixels, the first
// layer's weights as images.
function inspect(id) {
  if (!model) throw noModel('inspect');
  if (!dataset) throw noDataset('test the model on');
  const info = model.info();
  const summary = dataset.summary();
  const evaluation = evaluationOf(info, summary);
  const probabilities = testProbabilities(info);
  const classes = model.classes();
  const labels = dataset.labels('test');
  const side = summary.side;
  const size = side * side * 4;
  const images = new Uint8Array(labels.length * size);
  for (let i = 0; i < labels.length; i++) images.set(dataset.image_rgba('test', i), i * size);
  const weights = info.kind === 'network' ? whole(model.first_layer_images()).buffer : null;
  // A pretrained-feature model shows where it saw a cat in the test images it gets wrong.
  const heat = {};
  if (info.kind === 'pretrained') {
    const wrong = [];
    for (let i = 0; i < labels.length; i++) {
      if (predictedClass(probabilities, i, classes.length) !== labels[i]) wrong.push(i);
    }
    const maps = model.heat_maps(dataset, 'test', Uint32Array.from(wrong));
    Object.assign(heat, { heat: Array.from(maps.values), heat_side: maps.side, heat_indices: wrong });
  }
  const transfer = [probabilities.buffer, labels.buffer, images.buffer];
  if (weights) transfer.push(weights);
  self.postMessage({
    type: REPLY.INSPECTION, id, evaluation, classes, probabilities, labels, images, side, weights, ...heat,
  }, transfer);
}

// The requests of the browser tests, answered in test mode only (see protocol.js).
const TEST_REQUESTS = {
  [REQUEST.MEMORY](id) {
    // WebAssembly memory only grows: its size now is the peak so far.
    self.postMessage({ type: REPLY.MEMORY, id, wasm_bytes: memory.buffer.byteLength });
  },
  [REQUEST.HOLD](id, msg) {
    holdStage = typeof msg.stage === 'string' ? msg.stage : null;
    self.postMessage({ type: REPLY.HELD, id, stage: holdStage });
  },
  [REQUEST.CRASH]() {
    // For the tests of the page's recovery: an exception nobody catches, as a bug would throw.
    setTimeout(() => { throw new Error('deliberate crash requested by the page'); });
  },
};

async function handle(msg) {
  const { type, id } = msg;
  if (!(await ready)) throw new KindError('internal', 'the classifier could not start (see the first error)');
  switch (type) {
    case REQUEST.TRAIN:
      self.postMessage(await train(id, msg.params));
      break;
    case REQUEST.CANCEL:
      // A cancel that arrives after the training ended is harmless: nothing to stop.
      if (training) training.cancelled = true;
      self.postMessage({ type: REPLY.CANCELLING, id, running: Boolean(training) });
      break;
    case REQUEST.CLASSIFY:
      classify(id, msg.bytes, msg.name);
      break;
    case REQUEST.LOAD_MODEL:
      loadModel(id, msg.bytes);
      break;
    case REQUEST.LOAD_BACKBONE:
      loadBackbone(id, msg.bytes);
      break;
    case REQUEST.EXPORT_MODEL:
      exportModel(id);
      break;
    case REQUEST.RESULTS_CSV:
      self.postMessage({ type: REPLY.RESULTS_CSV, id, csv: wasm.results_csv(msg.classes, msg.rows) });
      break;
    case REQUEST.INSPECT:
      inspect(id);
      break;
    case REQUEST.PROJECT_EXPORT:
      exportProject(id);
      break;
    case REQUEST.PROJECT_OPEN:
      openProject(id, msg.bytes);
      break;
    default: {
      if (TEST_MODE && Object.hasOwn(TEST_REQUESTS, type)) {
        TEST_REQUESTS[type](id, msg);
        break;
      }
      const r = handleDataset(msg, { wasm, dataset, builtin, training: Boolean(training) });
      if (r.dataset) dataset = r.dataset;
      self.postMessage(r.reply, r.transfer);
    }
  }
}

self.addEventListener('message', (event) => {
  const msg = event.data ?? {};
  // The page's watchdog: answered at once, even before start-up has finished.
  if (msg.type === REQUEST.PING) {
    self.postMessage({ type: REPLY.PONG, id: msg.id });
    return;
  }
  handle(msg).catch((e) => {
    self.postMessage({ type: REPLY.ERROR, id: msg.id ?? null, ...errorOf(e) });
    // A trap (a Rust panic, out of memory) leaves the module in an unknown state: stop here and
    // let the page start a fresh worker.
    if (e instanceof WebAssembly.RuntimeError) {
      self.postMessage({ type: REPLY.FATAL, ...errorOf(e) });
      self.close();
    }
  });
});

self.addEventListener('unhandledrejection', (event) => {
  self.postMessage({ type: REPLY.ERROR, id: null, ...errorOf(event.reason) });
});
