// The page's thread only draws and forwards: the WebAssembly module, the dataset, training and
// photo decoding all live in worker.js, so nothing here runs long enough to freeze the page.
// Saved models live in saved.js, the inspection panel and earlier runs' curves in inspect.js.

import { initSaved, kindName } from './saved.js';
import { initInspect, overlay } from './inspect.js';

import { initOwnData } from './owndata.js';
import './offline.js';

import { Supervisor } from './supervisor.js';

const $ = (id) => document.getElementById(id);

const el = {
  status: $('status'),
  statusDetail: $('status-detail'),
  error: $('error'),
  dataset: $('dataset'),
  samples: $('samples'),
  form: $('train-form'),
  model: $('model'),
  hiddenField: $('hidden-field'),
  hidden: $('hidden'),
  iters: $('iters'),
  lr: $('lr'),
  seed: $('seed'),
  train: $('train'),
  cancel: $('cancel'),
  progress: $('progress'),
  progressText: $('progress-text'),
  curve: $('curve'),
  curveCaption: $('curve-caption'),
  results: $('results'),
  trainAccuracy: $('train-accuracy'),
  testAccuracy: $('test-accuracy'),
  baseline: $('baseline'),
  finalCost: $('final-cost'),
  trainTime: $('train-time'),
  trainNote: $('train-note'),
  photos: $('photos'),
  dropzone: $('dropzone'),
  cards: $('cards'),
  resultsBar: $('results-bar'),
  resultsCount: $('results-count'),
  clear: $('clear'),
  announcer: $('announcer'),
  classifyProgress: $('classify-progress'),
};

// Defaults of the classic exercise each model comes from; `hidden: null` reads the text field.
const MODELS = {
  lr: { hidden: [], iterations: 2000, learningRate: 0.005 },
  '2layer': { hidden: [7], iterations: 2500, learningRate: 0.0075 },
  '4layer': { hidden: [20, 7, 5], iterations: 2500, learningRate: 0.0075 },
  custom: { hidden: null, iterations: 2500, learningRate: 0.0075 },
  // No iterations or learning rate: its stages run to the end and the penalty is picked by
  // cross-validation.
  features: { features: true },
};

// Stages of the learned-feature model, in order, as the worker names them.
const FEATURE_STAGES = ['patches', 'whitening', 'k-means', 'encoding', 'fitting'];

const STATUS_DETAIL = {
  loading: 'Loading the model code and the dataset…',
  ready: 'Ready: pick a model and press Train.',
  training: 'Training in the background — the page stays responsive.',
  trained: 'Trained. Drop, paste or choose photos to classify them.',
  cancelled: 'Training stopped early; the partial model is kept.',
  error: 'Something went wrong — see the message below.',
};

const state = {
  summary: null,
  hasModel: false,
  training: false,
  trainId: null,
  curve: { points: [], iterations: 1, frame: 0 },
};

// ---- status, errors, announcements ------------------------------------------------------------

function setStatus(name, detail) {
  el.status.textContent = name;
  el.status.dataset.state = name;
  el.statusDetail.textContent = detail ?? STATUS_DETAIL[name] ?? '';
}

function showError(text) {
  el.error.textContent = text;
  el.error.hidden = false;
}

function clearError() {
  el.error.textContent = '';
  el.error.hidden = true;
}

function announce(text) {
  el.announcer.textContent = text;
}

// ---- the worker and its request/reply protocol ------------------------------------------------

const supervisor = new Supervisor('./worker.js', {
  onMessage(msg) {
    if (msg.type === 'ready') return onReady(msg);
    if (msg.type === 'progress') return onProgress(msg);
    if (msg.type === 'error') {
      // id 0 is start-up; a null id is a failure no request owns. Either way the page must say so.
      setStatus('error');
      showError(msg.id === 0 ? `The classifier could not start: ${msg.message}` : msg.message);
    }
  },
  onCrash: onWorkerCrash,
  // Only a worker script that cannot even be loaded or parsed ends up here: everything else is
  // reported as a message by the worker itself.
  onStartFailure(text) {
    setStatus('error');
    showError(`The classifier could not start: ${text}.`);
  },
});
const call = (type, payload, transfer) => supervisor.call(type, payload, transfer);
// For the browser tests of recovery and memory: the live worker and the request protocol.
window.__purrceptron = { worker: () => supervisor.worker, call: (type, payload) => call(type, payload).reply };

// ---- dataset panel ----------------------------------------------------------------------------

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function describeSplit(name, s) {
  return `${name}: ${plural(s.n, 'image', 'images')}, ${plural(s.cats, 'cat', 'cats')} / ` +
    `${plural(s.non_cats, 'non-cat', 'non-cats')}`;
}

function onReady({ summary, samples }) {
  state.summary = summary;
  el.dataset.textContent = `${describeSplit('train', summary.train)}; ${describeSplit('test', summary.test)}.`;
  const fragment = document.createDocumentFragment();
  for (const s of samples) {
    const li = document.createElement('li');
    li.className = `sample sample-${s.label === 'cat' ? 'cat' : 'other'}`;
    const canvas = document.createElement('canvas');
    canvas.width = summary.side;
    canvas.height = summary.side;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `training image ${s.index}: ${s.label}`);
    canvas.getContext('2d').putImageData(
      new ImageData(new Uint8ClampedArray(s.rgba.buffer), summary.side, summary.side), 0, 0);
    const caption = document.createElement('span');
    caption.textContent = s.label;
    li.append(canvas, caption);
    fragment.append(li);
  }
  el.samples.replaceChildren(fragment);
  // A restarted worker keeps the model the page already had (see onWorkerCrash).
  for (const input of [el.model, el.hidden, el.iters, el.lr, el.seed, el.train]) input.disabled = state.training;
  if (!state.training) setStatus(state.hasModel ? 'trained' : 'ready');
  drawCurve();
  saved.start((runs) => overlay.set(runs));
}

// ---- training ----------------------------------------------------------------------------------

function onModelChange() {
  const m = MODELS[el.model.value];
  if (!m.features) {
    el.iters.value = m.iterations;
    el.lr.value = m.learningRate;
  }
  for (const input of [el.iters, el.lr]) input.closest('.field').hidden = Boolean(m.features);
  el.hiddenField.hidden = el.model.value !== 'custom';
  scheduleCurve();
  for (const li of document.querySelectorAll('.models li[data-model]')) {
    li.classList.toggle('current', li.dataset.model === el.model.value);
  }
}

// Only what Rust cannot be asked about is checked here: a field the browser could not parse
// as a number arrives as '' and would reach Rust as NaN, with a confusing message. Ranges
// (a negative learning rate, 0 iterations...) are Rust's to judge, in its own words.
function readParams() {
  const number = (input, what, example) => {
    const v = input.value.trim();
    if (v === '' || !Number.isFinite(Number(v))) {
      throw new Error(`${what}: enter a number, for example ${example}.`);
    }
    return Number(v);
  };
  if (MODELS[el.model.value].features) return { model: 'features', seed: number(el.seed, 'Seed', '1') };
  let hidden = MODELS[el.model.value].hidden;
  if (hidden === null) {
    const parts = el.hidden.value.split(/[\s,]+/).filter(Boolean);
    hidden = parts.map(Number);
    if (hidden.some((n) => !Number.isInteger(n))) {
      throw new Error('Hidden layer sizes: use whole numbers separated by commas, for example 20,7,5 ' +
        '(leave it empty for logistic regression).');
    }
  }
  const iterations = number(el.iters, 'Iterations', '2000');
  const learningRate = number(el.lr, 'Learning rate', '0.005');
  const seed = number(el.seed, 'Seed', '1');
  // Record a few hundred costs at most: enough for a smooth curve, little to send.
  const reportEvery = Number.isInteger(iterations) && iterations > 0 ? Math.max(1, Math.ceil(iterations / 400)) : 1;
  return { hidden, iterations, learning_rate: learningRate, seed, report_every: reportEvery };
}

function setTrainingControls(running) {
  state.training = running;
  for (const input of [el.model, el.hidden, el.iters, el.lr, el.seed, el.train]) input.disabled = running;
  el.cancel.disabled = !running;
}

const formatSeconds = (s) => (s < 10 ? `${s.toFixed(1)} s` : s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);
const formatCount = (n) => n.toLocaleString('en-US');
const finite = (x) => typeof x === 'number' && Number.isFinite(x);
const percent = (x) => (finite(x) ? `${(100 * x).toFixed(1)}%` : '—');

async function startTraining() {
  if (state.training) return;
  clearError();
  let params;
  try {
    params = readParams();
  } catch (e) {
    showError(e.message);
    return;
  }
  setTrainingControls(true);
  setStatus('training');
  el.results.hidden = true;
  el.trainNote.hidden = true;
  el.progress.value = 0;
  el.progress.removeAttribute('aria-valuetext');
  el.progressText.textContent = 'Starting…';
  state.curve = { points: [], iterations: Number.isInteger(params.iterations) ? params.iterations : 1, frame: 0 };
  saved.trainingStarted();
  scheduleCurve();
  const { id, reply } = call('train', { params });
  state.trainId = id;
  try {
    const result = await reply;
    showTrained(result);
    if (result.discarded) {
      setStatus('cancelled', 'Training stopped; the learned-feature model was not finished, so nothing was kept.');
      return;
    }
    state.hasModel = true;
    keepModel(supervisor);
    setStatus(result.stopped ? 'cancelled' : 'trained');
    keepTrained(result.info).catch((e) => showError(e.message));
  } catch (e) {
    showError(`Training failed: ${e.message}`);
    el.progressText.textContent = 'Training failed.';
    setStatus('error');
  } finally {
    state.trainId = null;
    setTrainingControls(false);
  }
}

function onProgress(p) {
  if (p.id !== state.trainId) return;
  if (p.stage) return onStageProgress(p);
  el.progress.value = p.iterations > 0 ? p.done / p.iterations : 0;
  const left = p.done > 0 ? p.elapsed * (p.iterations - p.done) / p.done : null;
  const text = `${formatCount(p.done)} / ${formatCount(p.iterations)} iterations` +
    (left !== null && p.done < p.iterations ? ` · about ${formatSeconds(left)} left` : '') +
    (finite(p.cost) ? ` · cost ${p.cost.toFixed(4)}` : '');
  el.progressText.textContent = text;
  el.progress.setAttribute('aria-valuetext', `${formatCount(p.done)} of ${formatCount(p.iterations)} iterations`);
  const pts = state.curve.points;
  if (finite(p.cost) && (pts.length === 0 || pts[pts.length - 1][0] < p.cost_iteration)) {
    pts.push([p.cost_iteration, p.cost]);
    scheduleCurve();
  }
}

// The learned-feature model reports stages, not iterations: `done`/`iterations` count work.
function onStageProgress(p) {
  el.progress.value = p.iterations > 0 ? Math.min(1, p.done / p.iterations) : 0;
  const index = FEATURE_STAGES.indexOf(p.stage);
  const pct = Math.round(100 * (p.stage_done ?? 0));
  const text = index < 0 ? 'Finishing…'
    : `Stage ${index + 1} of ${FEATURE_STAGES.length}: ${p.stage} ${pct}%`;
  el.progressText.textContent = text;
  el.progress.setAttribute('aria-valuetext', text);
}

function showTrained(r) {
  if (r.discarded) {
    el.progressText.textContent = `Stopped after ${formatSeconds(r.seconds)}. The learned-feature model needs ` +
      'every stage, so nothing was kept' + (state.hasModel ? ': photos are classified with the previous model.' : '.');
    return;
  }
  const ev = r.info.evaluation ?? {};
  const receipt = r.info.receipt ?? {};
  el.trainAccuracy.textContent = percent(ev.train_accuracy);
  el.testAccuracy.textContent = percent(ev.test_accuracy);
  const t = state.summary?.test;
  const majority = t && t.non_cats > t.cats ? 'non-cat' : 'cat';
  el.baseline.textContent = finite(ev.test_majority_baseline)
    ? `(always “${majority}”: ${percent(ev.test_majority_baseline)})` : '';
  el.finalCost.textContent = finite(receipt.final_cost) ? receipt.final_cost.toFixed(6) : '—';
  el.trainTime.textContent = formatSeconds(r.seconds);
  el.results.hidden = false;
  el.progress.value = r.iterations > 0 ? r.done / r.iterations : 0;
  el.progressText.textContent = r.stopped
    ? `Stopped at iteration ${formatCount(r.done)} of ${formatCount(r.iterations)}.`
    : r.info.kind === 'features'
      ? `Done: learned features in ${formatSeconds(r.seconds)} (penalty C = ${r.info.cross_validation?.c} ` +
        'picked by cross-validation on the training set).'
      : `Done: ${formatCount(r.done)} iterations in ${formatSeconds(r.seconds)}.`;
  if (r.info.warning) {
    // Capitalised for a sentence of its own; the cost curve above shows the rise.
    el.trainNote.textContent = r.info.warning[0].toUpperCase() + r.info.warning.slice(1) + '.';
    el.trainNote.hidden = false;
  } else if (r.stopped) {
    el.trainNote.textContent = `Stopped at iteration ${formatCount(r.done)}. The partial model is kept: ` +
      'the accuracies above are its own, and photos are classified with it.';
    el.trainNote.hidden = false;
  }
  // The full cost record replaces the live curve, which only saw the costs at progress time.
  if (Array.isArray(r.info.costs) && r.info.costs.length) {
    state.curve.points = r.info.costs.filter(([, c]) => finite(c));
    // A stopped run is drawn over the iterations it ran, not the ones it would have.
    state.curve.iterations = r.stopped ? Math.max(1, r.done) : r.iterations;
    scheduleCurve();
  }
  announce(`Training ${r.stopped ? 'stopped' : 'finished'}: train accuracy ${percent(ev.train_accuracy)}, ` +
    `test accuracy ${percent(ev.test_accuracy)}.`);
}

el.model.addEventListener('change', onModelChange);
el.form.addEventListener('submit', (event) => {
  event.preventDefault();
  startTraining();
});
el.cancel.addEventListener('click', () => {
  if (!state.training) return;
  el.cancel.disabled = true;
  el.progressText.textContent = 'Stopping…';
  call('cancel').reply.catch((e) => showError(e.message));
});

// ---- the cost curve ----------------------------------------------------------------------------

// Redraws at most once per frame however many progress messages arrive; a few hundred points
// on one canvas is well under a millisecond.
function scheduleCurve() {
  if (state.curve.frame) return;
  state.curve.frame = requestAnimationFrame(() => {
    state.curve.frame = 0;
    drawCurve();
  });
}

function niceCeil(x) {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 4, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function drawCurve() {
  const canvas = el.curve;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 640;
  const h = canvas.clientHeight || 220;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pad = { left: 52, right: 14, top: 12, bottom: 30 };
  const pw = Math.max(10, w - pad.left - pad.right);
  const ph = Math.max(10, h - pad.top - pad.bottom);
  const { points, iterations } = state.curve;
  const earlier = overlay.extent();
  const xMax = Math.max(1, iterations, earlier.iterations);
  const yMax = niceCeil(points.reduce((m, [, c]) => Math.max(m, c), earlier.cost) || 0.7);
  const x = (it) => pad.left + (pw * it) / xMax;
  const y = (c) => pad.top + ph * (1 - Math.min(c, yMax) / yMax);

  ctx.font = '12px system-ui, sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#e4ded6';
  ctx.fillStyle = '#6b635b';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const c = (yMax * i) / 4;
    const yy = Math.round(y(c)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.left, yy);
    ctx.lineTo(pad.left + pw, yy);
    ctx.stroke();
    // Trailing zeros trimmed: 0, 0.25, 0.5, 0.75, 1 rather than 0.3 and 0.8 for the quarters.
    ctx.fillText(String(Number(c.toFixed(3))), pad.left - 6, yy);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const f of [0, 0.5, 1]) {
    const it = Math.round(xMax * f);
    ctx.textAlign = f === 0 ? 'left' : f === 1 ? 'right' : 'center';
    ctx.fillText(formatCount(it), x(it), pad.top + ph + 8);
  }
  overlay.draw(ctx, x, y);
  if (points.length === 0) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const text = MODELS[el.model.value]?.features
      ? 'The learned-feature model has no cost curve: its stages show above.'
      : state.training ? 'Waiting for the first cost…' : 'The cost curve appears here while training.';
    ctx.fillText(text,
      pad.left + pw / 2, pad.top + ph / 2);
    return;
  }
  ctx.strokeStyle = '#c2571a';
  ctx.lineWidth = 2;
  ctx.lineJoin = 'round';
  ctx.beginPath();
  points.forEach(([it, c], i) => (i === 0 ? ctx.moveTo(x(it), y(c)) : ctx.lineTo(x(it), y(c))));
  ctx.stroke();
  const [lastIt, lastC] = points[points.length - 1];
  ctx.fillStyle = '#c2571a';
  ctx.beginPath();
  ctx.arc(x(lastIt), y(lastC), 3.5, 0, 2 * Math.PI);
  ctx.fill();
}

window.addEventListener('resize', scheduleCurve);

// ---- classifying photos ------------------------------------------------------------------------

const queue = [];
let pumping = false;
const objectUrls = new Set();

function makeCard(file) {
  const li = document.createElement('li');
  li.className = 'card pending';
  li.dataset.testid = 'result';
  li.dataset.state = 'pending';

  const images = document.createElement('div');
  images.className = 'card-images';
  const original = document.createElement('figure');
  const thumb = document.createElement('img');
  const url = URL.createObjectURL(file);
  objectUrls.add(url);
  thumb.src = url;
  thumb.alt = `Your photo ${file.name}`;
  thumb.decoding = 'async';
  // Hundreds of dropped photos must not all be decoded for thumbnails at once.
  thumb.loading = 'lazy';
  thumb.className = 'thumb';
  // A file the browser cannot show (garbage, HEIC...) gets a plain tile instead of a broken icon.
  thumb.addEventListener('error', () => thumb.replaceWith(placeholder('no preview')), { once: true });
  const cap1 = document.createElement('figcaption');
  cap1.textContent = 'your photo';
  original.append(thumb, cap1);

  const seen = document.createElement('figure');
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 64;
  canvas.className = 'seen';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'The 64 by 64 image the model sees');
  const cap2 = document.createElement('figcaption');
  cap2.textContent = 'what the model sees';
  seen.append(canvas, cap2);
  images.append(original, seen);

  const body = document.createElement('div');
  body.className = 'card-body';
  const name = document.createElement('p');
  name.className = 'card-name';
  name.textContent = file.name || 'pasted image';
  name.title = file.name;
  const verdict = document.createElement('p');
  verdict.className = 'verdict';
  verdict.textContent = 'Waiting…';
  const detail = document.createElement('p');
  detail.className = 'card-detail';
  body.append(name, verdict, detail);
  li.append(images, body);
  return li;
}

function placeholder(text) {
  const div = document.createElement('div');
  div.className = 'thumb placeholder';
  div.textContent = text;
  return div;
}

function fillCard(card, r) {
  card.classList.remove('pending');
  card.classList.add(r.label === 'cat' ? 'is-cat' : 'is-other');
  card.dataset.state = 'done';
  card.dataset.probability = String(r.probability);
  card.dataset.label = r.label;
  const canvas = card.querySelector('canvas.seen');
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(r.seen_rgba.buffer), 64, 64), 0, 0);
  card.querySelector('.verdict').textContent = r.label === 'cat' ? 'Cat' : 'Not a cat';
  const detail = card.querySelector('.card-detail');
  const p = document.createElement('span');
  p.className = 'probability';
  p.textContent = `P(cat) = ${r.probability.toFixed(3)}`;
  const meter = document.createElement('meter');
  meter.min = 0;
  meter.max = 1;
  meter.value = r.probability;
  meter.setAttribute('aria-label', 'Probability of cat');
  const size = document.createElement('span');
  size.className = 'size';
  size.textContent = `${r.format.toUpperCase()}, ${r.width} × ${r.height}`;
  detail.replaceChildren(p, meter, size);
  announce(`${card.querySelector('.card-name').textContent}: ${r.label === 'cat' ? 'cat' : 'not a cat'}, ` +
    `probability of cat ${r.probability.toFixed(2)}.`);
}

function failCard(card, text) {
  card.classList.remove('pending');
  card.classList.add('is-error');
  card.dataset.state = 'error';
  card.dataset.error = text;
  // The model saw nothing: drop the empty canvas and say why instead.
  card.querySelector('canvas.seen')?.closest('figure')?.remove();
  card.querySelector('.verdict').textContent = 'Could not read this file';
  card.querySelector('.card-detail').textContent = text;
  announce(`${card.querySelector('.card-name').textContent}: could not be read — ${text}`);
}

function updateCount() {
  el.resultsBar.hidden = el.cards.childElementCount === 0;
  el.resultsCount.textContent = plural(el.cards.childElementCount, 'photo', 'photos');
}

function addPhotos(fileList) {
  const files = Array.from(fileList ?? []);
  if (files.length === 0) return;
  if (!state.hasModel) {
    showError(state.training
      ? 'Train a model first: the first model is still training. Add your photos again when it has finished.'
      : 'Train a model first: the classifier has not learnt anything yet. Press Train (logistic regression ' +
        'takes a second or two), then add your photos again.');
    return;
  }
  clearError();
  batch.total += files.length;
  // The newest batch goes on top, in the order it was given. Cards are made a few at a time,
  // one task each, so that a drop of hundreds of photos never blocks the page for long.
  const anchor = el.cards.firstChild;
  const generation = batch.generation;
  batch.adding++;
  const addChunk = (start) => {
    if (generation !== batch.generation) return; // cleared meanwhile
    const fragment = document.createDocumentFragment();
    for (const file of files.slice(start, start + CARDS_PER_TASK)) {
      const card = makeCard(file);
      fragment.append(card);
      queue.push({ file, card });
    }
    el.cards.insertBefore(fragment, anchor?.isConnected ? anchor : null);
    updateCount();
    if (start + CARDS_PER_TASK < files.length) setTimeout(() => addChunk(start + CARDS_PER_TASK));
    else batch.adding--;
    if (!pumping) pump();
  };
  addChunk(0);
}

const CARDS_PER_TASK = 20;

// One photo at a time: a drop of hundreds of photos reads and sends one file's bytes at a time,
// so memory stays small and the worker can interleave them with training steps.
async function pump() {
  pumping = true;
  try {
    while (queue.length) {
      const { file, card } = queue.shift();
      batchProgress();
      if (!card.isConnected) continue;
      try {
        const bytes = await file.arrayBuffer();
        const r = await call('classify', { bytes, name: file.name }, [bytes]).reply;
        fillCard(card, r);
      } catch (e) {
        failCard(card, e.message);
      }
    }
  } finally {
    pumping = false;
    batchProgress(true);
  }
}

el.photos.addEventListener('change', () => {
  addPhotos(el.photos.files);
  // Choosing the same file again should classify it again.
  el.photos.value = '';
});

el.clear.addEventListener('click', () => {
  queue.length = 0;
  Object.assign(batch, { total: 0, done: 0, adding: 0, generation: batch.generation + 1 });
  el.classifyProgress.textContent = '';
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls.clear();
  el.cards.replaceChildren();
  updateCount();
  announce('Results cleared.');
});

// Drops anywhere on the page count: a drop outside the zone would otherwise make the browser
// open the photo and leave the page.
let dragDepth = 0;
const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
document.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth++;
  document.body.classList.add('dragging');
});
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'copy';
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove('dragging');
});
document.addEventListener('drop', (event) => {
  dragDepth = 0;
  document.body.classList.remove('dragging');
  // A drop on one of the own-dataset zones is training data, already taken care of there.
  if (event.defaultPrevented || !event.dataTransfer?.files?.length) return;
  event.preventDefault();
  addPhotos(event.dataTransfer.files);
});

document.addEventListener('paste', (event) => {
  const files = Array.from(event.clipboardData?.files ?? []);
  // Text pasted into a field is left alone; only pasted files are photos to classify.
  if (files.length === 0) return;
  event.preventDefault();
  addPhotos(files);
});

// ---- saved models and the inspection panel -----------------------------------------------------

const inspector = initInspect({ call, showError, announce });

function onChosen(record) {
  state.hasModel = true;
  // The results and note above describe the last training, not the model now in use.
  el.results.hidden = true;
  el.trainNote.hidden = true;
  setStatus('trained', `Using the saved model “${record.name}”. Drop, paste or choose photos to classify them.`);
  inspector.show(modelTitle(record.name, record.info), record.info?.kind);
  // A restarted worker gets this model back.
  keepModel(supervisor);
}

// A name the page made up already starts with the kind; a name from a file or a rename may not.
const modelTitle = (name, info) => (name.startsWith(kindName(info)) ? name : `${name} — ${kindName(info)}`);

const saved = initSaved({ call, showError, clearError, announce, isTraining: () => state.training, onChosen });
overlay.redraw = scheduleCurve;
overlay.wire();

async function keepTrained(info) {
  const record = await saved.trained(info);
  inspector.show(record ? modelTitle(record.name, info) : kindName(info), info?.kind);
}

// ---- surviving a crashed worker, and the progress of large drops ------------------------------

// The worker died after starting (see supervisor.js): a new one is already starting with the
// current model; cards and training results stay as they are.
function onWorkerCrash({ reason, restarted, restoring }) {
  showError(`The classifier stopped unexpectedly (${reason}). ` + (restarted
    ? `It has been restarted${restoring ? ' with your current model' : ''}; your results are kept.`
    : 'It crashed too often to restart: reload the page.'));
  if (!restarted) setStatus('error');
  announce('The classifier stopped unexpectedly and was restarted.');
}

// The model's bytes stay in the page (~100 KB for logistic regression, ~2 MB for the deep
// networks) so that a restarted worker can be given it back.
async function keepModel(sup) {
  try {
    const { bytes } = await sup.call('export-model').reply;
    sup.modelBytes = new Uint8Array(bytes);
  } catch {
    // The model in the worker still works; only a future restart would lack it.
  }
}

// Photos of the drops not yet finished: `adding` drops still making their cards; `generation`
// counts the clears, so that a drop being added when the results are cleared stops.
const batch = { total: 0, done: 0, adding: 0, generation: 0 };

// "Classifying 12 of 300…" as each photo is sent; "Classified 300 photos." at the end.
function batchProgress(finished = false) {
  if (!finished) {
    batch.done++;
    el.classifyProgress.textContent = `Classifying ${formatCount(batch.done)} of ${formatCount(batch.total)}…`;
  } else if (batch.adding === 0) {
    if (batch.total > 0) el.classifyProgress.textContent = `Classified ${plural(batch.total, 'photo', 'photos')}.`;
    batch.total = 0;
    batch.done = 0;
  }
}

onModelChange();
setStatus('loading');
initOwnData({ call, announce, showError, clearError, onDataset: (summary) => { state.summary = summary; } });
