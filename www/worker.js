// The worker owns the WebAssembly module, the dataset and the trained model, so that training
// and photo decoding never run on the page's thread.
//
// Protocol: every message is {type, id, ...}. Replies carry the id of the request they answer;
// any failure, initialisation included, becomes {type: 'error', id, message}. Byte buffers are
// transferred, never copied.

import { handleDataset } from './owndata-worker.js';

const SAMPLE_COUNT = 24;
// A step should take long enough that the per-step overhead (a yield, a progress check) is
// small, and short enough that a cancel is honoured within a frame or two.
const STEP_TARGET_MS = 25;
// Progress messages are cheap, but the page only needs a few per 100 ms to look live.
const PROGRESS_INTERVAL_MS = 40;

let wasm = null;
let wasmExports = null; // for the size of the module's memory
let dataset = null;
let model = null;
let training = null; // {id, cancelled}

const message = (e) => (e instanceof Error ? e.message : String(e));

// Errors thrown before any request (a missing pkg/, a bad dataset) answer the 'ready' request,
// whose id is 0.
const ready = (async () => {
  try {
    // A dynamic import (not a static one) so that a missing or broken module becomes an error
    // message the page can show, instead of a bare worker 'error' event with no text.
    wasm = await import('./pkg/purrceptron.js');
    wasmExports = await wasm.default();
    const response = await fetch('./data/catvnoncat.safetensors');
    if (!response.ok) {
      throw new Error(`cannot load the dataset (./data/catvnoncat.safetensors): HTTP ${response.status}` +
        (response.status === 404 ? ' — run ./build.sh to create it' : ''));
    }
    dataset = new wasm.WasmDataset(new Uint8Array(await response.arrayBuffer()));
    const summary = dataset.summary();
    const labels = dataset.labels('train');
    const count = Math.min(SAMPLE_COUNT, labels.length);
    const samples = [];
    for (let index = 0; index < count; index++) {
      samples.push({ index, label: summary.classes[labels[index]], rgba: dataset.image_rgba('train', index) });
    }
    self.postMessage({ type: 'ready', id: 0, summary, samples }, samples.map((s) => s.rgba.buffer));
    return true;
  } catch (e) {
    self.postMessage({ type: 'error', id: 0, message: message(e) });
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

async function train(id, params) {
  if (training) throw new Error('a training is already running: cancel it first');
  training = { id, cancelled: false };
  const started = performance.now();
  let trainer = null;
  try {
    trainer = new wasm.WasmTrainer(dataset, params);
    let n = 1;
    let lastPost = 0;
    let report = null;
    for (;;) {
      const t0 = performance.now();
      report = trainer.step(n);
      const dt = performance.now() - t0;
      // Aim each step at STEP_TARGET_MS, growing at most 4x at a time so a slow iteration
      // (a bigger network) cannot overshoot the target by much.
      n = Math.max(1, Math.min(n * 4, Math.round(n * STEP_TARGET_MS / Math.max(dt, 0.25))));
      const now = performance.now();
      if (report.finished || now - lastPost >= PROGRESS_INTERVAL_MS) {
        lastPost = now;
        self.postMessage({
          type: 'progress', id, done: report.done, iterations: report.iterations,
          cost: report.cost ?? null, cost_iteration: report.cost_iteration ?? null,
          stage: report.stage ?? null, stage_done: report.stage_done ?? null,
          elapsed: (now - started) / 1000,
        });
      }
      if (report.finished) break;
      // Let the event loop deliver a 'cancel' (or a photo to classify) between steps.
      await nextTask();
      if (training.cancelled) break;
    }
    const stopped = !report.finished;
    // The learned-feature model is only usable once every stage has run: a cancel discards it
    // and keeps the previous model, if any.
    if (stopped && report.stage) {
      return {
        type: 'trained', id, stopped, discarded: true, done: report.done, iterations: report.iterations,
        info: null, seconds: (performance.now() - started) / 1000,
      };
    }
    const fitted = trainer.finish(dataset, new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
    const info = fitted.info();
    if (model) model.free();
    model = fitted;
    return {
      type: 'trained', id, stopped, done: report.done, iterations: report.iterations,
      info, seconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (trainer) trainer.free();
    training = null;
  }
}

function classify(id, bytes, name) {
  if (!model) throw new Error('Train a model first: there is no model to classify photos with yet.');
  const r = model.classify(new Uint8Array(bytes), 'crop');
  // The Uint8Array is a fresh copy out of wasm memory, normally spanning its whole buffer;
  // copy again only if it does not, so the transfer sends exactly the pixels.
  let seen = r.seen_rgba;
  if (seen.byteOffset !== 0 || seen.byteLength !== seen.buffer.byteLength) seen = seen.slice();
  self.postMessage({
    type: 'classified', id, name, probability: r.probability, label: r.label,
    width: r.width, height: r.height, format: r.format, seen_rgba: seen,
  }, [seen.buffer]);
}

// A Uint8Array copied out of wasm memory normally spans its whole buffer; copy again only if it
// does not, so that a transfer sends exactly its bytes.
const ownBuffer = (a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice()).buffer;

function loadModel(id, bytes) {
  if (!(bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes))) {
    throw new Error('load-model needs the file\'s bytes (an ArrayBuffer or a Uint8Array)');
  }
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes)
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const loaded = wasm.WasmModel.from_bytes(view);
  const info = loaded.info();
  if (model) model.free();
  model = loaded;
  self.postMessage({ type: 'model-loaded', id, info });
}

function exportModel(id) {
  if (!model) throw new Error('There is no model to save yet: train one or load one first.');
  const bytes = ownBuffer(model.to_bytes());
  self.postMessage({ type: 'model-bytes', id, bytes }, [bytes]);
}

// Everything the page needs to show how the current model does on the test split: accuracy,
// each test image's probability, the images themselves and, for networks on pixels, the first
// layer's weights as images.
function inspect(id) {
  if (!model) throw new Error('There is no model to inspect yet: train one or load one first.');
  const info = model.info();
  const evaluation = model.evaluate(dataset);
  const probabilities = model.probabilities(dataset, 'test');
  const labels = dataset.labels('test');
  const side = dataset.summary().side;
  const size = side * side * 4;
  const images = new Uint8Array(labels.length * size);
  for (let i = 0; i < labels.length; i++) images.set(dataset.image_rgba('test', i), i * size);
  const weights = info.kind === 'network' ? ownBuffer(model.first_layer_images()) : null;
  const transfer = [probabilities.buffer, labels.buffer, images.buffer];
  if (weights) transfer.push(weights);
  self.postMessage({
    type: 'inspection', id, evaluation, probabilities, labels, images, side, weights,
  }, transfer);
}

async function handle(msg) {
  const { type, id } = msg;
  if (!(await ready)) throw new Error('the classifier could not start (see the first error)');
  switch (type) {
    case 'train':
      self.postMessage(await train(id, msg.params));
      break;
    case 'cancel':
      // A cancel that arrives after the training ended is harmless: nothing to stop.
      if (training) training.cancelled = true;
      self.postMessage({ type: 'cancelling', id, running: Boolean(training) });
      break;
    case 'classify':
      classify(id, msg.bytes, msg.name);
      break;
    case 'load-model':
      loadModel(id, msg.bytes);
      break;
    case 'export-model':
      exportModel(id);
      break;
    case 'inspect':
      inspect(id);
      break;
    case 'memory':
      // WebAssembly memory only grows: its size now is the peak so far.
      self.postMessage({ type: 'memory', id, wasm_bytes: wasmExports.memory.buffer.byteLength });
      break;
    case 'crash':
      // For the tests of the page's recovery: an exception nobody catches, as a bug would throw.
      setTimeout(() => { throw new Error('deliberate crash requested by the page'); });
      break;
    default: {
      if (!String(type).startsWith('dataset-')) throw new Error(`unknown request type ${JSON.stringify(type)}`);
      const r = handleDataset(msg, { wasm, dataset, training: Boolean(training) });
      if (r.dataset) dataset = r.dataset;
      self.postMessage(r.reply, r.transfer);
    }
  }
}

self.addEventListener('message', (event) => {
  const msg = event.data ?? {};
  // The page's watchdog: answered at once, even before start-up has finished.
  if (msg.type === 'ping') {
    self.postMessage({ type: 'pong', id: msg.id });
    return;
  }
  handle(msg).catch((e) => {
    self.postMessage({ type: 'error', id: msg.id ?? null, message: message(e) });
    // A trap (a Rust panic, out of memory) leaves the module in an unknown state: stop here and
    // let the page start a fresh worker.
    if (e instanceof WebAssembly.RuntimeError) {
      self.postMessage({ type: 'fatal', id: null, message: message(e) });
      self.close();
    }
  });
});

self.addEventListener('unhandledrejection', (event) => {
  self.postMessage({ type: 'error', id: null, message: message(event.reason) });
});
