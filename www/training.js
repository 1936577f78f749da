// The training panel: the model and its settings, Train and Cancel, the progress bar and text,
// and the results of the last training. It also knows whether the worker holds a model yet.

import { $, finite, percent, formatCount, formatSeconds } from './helpers.js';
import { REQUEST, KindError } from './protocol.js';

// The model choices, by option value, as the Rust core defines them (see protocol.js, Preset):
// the defaults are the core's, never copied here. Filled when the worker is ready.
/** @type {Map<string, import('./protocol.js').Preset>} */
const presets = new Map();
const isFeatures = (id) => presets.get(id)?.spec.model === 'features';
const isPretrained = (id) => presets.get(id)?.spec.model === 'pretrained';
// The feature models run stages to the end: no iterations, no learning rate, no cost curve.
const hasStages = (id) => isFeatures(id) || isPretrained(id);

// Stages of the feature models, in order, as the worker names them.
const FEATURE_STAGES = ['patches', 'whitening', 'k-means', 'encoding', 'fitting'];
const PRETRAINED_STAGES = ['extracting', 'fitting'];
const KIND_NAMES = { features: 'learned-feature model', pretrained: 'pretrained-feature model' };

/**
 * Wires the panel. `app`: {call, status, chart, onStarted(), onTrained(info), onEnded(),
 * ensureBackbone()}: `onStarted` runs as a training starts, `onTrained` when it has left a new
 * model in the worker, `onEnded` when it has ended in any way; `ensureBackbone` (backbone.js)
 * loads the pretrained network into the worker.
 * Returns {ready, setSummary, useModel, onProgress, hasModel, hasDataset, isTraining, isFeatures,
 * trainDefault}.
 */
export function createTraining({ call, status, chart, onStarted, onTrained, onEnded, ensureBackbone }) {
  const el = {
    form: $('train-form'),
    model: $('model'),
    hiddenField: $('hidden-field'),
    hidden: $('hidden'),
    iters: $('iters'),
    lr: $('lr'),
    seed: $('seed'),
    flipField: $('flip-field'),
    flip: $('flip'),
    train: $('train'),
    cancel: $('cancel'),
    progress: $('progress'),
    progressText: $('progress-text'),
    results: $('results'),
    trainAccuracy: $('train-accuracy'),
    testAccuracy: $('test-accuracy'),
    baseline: $('baseline'),
    finalCost: $('final-cost'),
    trainTime: $('train-time'),
    note: $('train-note'),
  };
  const inputs = [el.model, el.hidden, el.iters, el.lr, el.seed, el.flip, el.train];
  let summary = null; // of the dataset training uses
  let hasModel = false;
  let training = false;
  let trainId = null;
  let trainKind = null; // the spec's model of the training running (or last run)
  let trainFlip = false; // whether it fits the training images' mirrors too

  function onModelChange() {
    const preset = presets.get(el.model.value);
    const features = hasStages(el.model.value);
    // No iterations or learning rate for the feature models: their stages run to the end and
    // their penalty is picked by cross-validation.
    if (preset && !features) {
      el.iters.value = preset.spec.iterations;
      el.lr.value = preset.spec.learning_rate;
      if (preset.custom_layers && el.hidden.value.trim() === '') el.hidden.value = preset.spec.hidden.join(',');
    }
    if (preset && el.seed.value.trim() === '') el.seed.value = preset.spec.seed;
    for (const input of [el.iters, el.lr]) input.closest('.field').hidden = features;
    el.hiddenField.hidden = el.model.value !== 'custom';
    el.flipField.hidden = !isPretrained(el.model.value);
    chart.schedule();
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
        throw new KindError('parameter', `${what}: enter a number, for example ${example}.`);
      }
      return Number(v);
    };
    const preset = presets.get(el.model.value);
    if (!preset) throw new KindError('state', 'The classifier is still starting: try again in a moment.');
    if (!summary) {
      throw new KindError('state', 'There is no dataset to train on yet: build or load your own in “Or your own ' +
        'dataset”, or add the classic set (the dataset panel says how).');
    }
    if (isFeatures(el.model.value)) return { model: 'features', seed: number(el.seed, 'Seed', '1') };
    if (isPretrained(el.model.value)) {
      return { model: 'pretrained', seed: number(el.seed, 'Seed', '1'), flip: el.flip.checked };
    }
    let hidden = preset.spec.hidden;
    if (preset.custom_layers) {
      const parts = el.hidden.value.split(/[\s,]+/).filter(Boolean);
      hidden = parts.map(Number);
      if (hidden.some((n) => !Number.isInteger(n))) {
        throw new KindError('parameter', 'Hidden layer sizes: use whole numbers separated by commas, for example 20,7,5 ' +
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

  function setRunning(running) {
    training = running;
    for (const input of inputs) input.disabled = running;
    el.cancel.disabled = !running;
  }

  async function start() {
    if (training) return;
    status.clearError();
    let params;
    try {
      params = readParams();
    } catch (e) {
      status.report(e);
      return;
    }
    setRunning(true);
    trainKind = params.model ?? 'network';
    trainFlip = Boolean(params.flip);
    if (trainKind === 'pretrained') {
      // The network is fetched (with its own progress bar) the first time, then kept.
      el.progressText.textContent = 'Loading the pretrained network…';
      try {
        await ensureBackbone();
      } catch (e) {
        status.showError(`${e.message} The other models still work.`);
        el.progressText.textContent = 'The pretrained network is not available.';
        setRunning(false);
        return;
      }
    }
    // The request goes first: the worker starts while this task updates the page (its replies
    // arrive in later tasks, once trainId is set).
    const { id, reply } = call(REQUEST.TRAIN, { params });
    trainId = id;
    status.set('training');
    el.results.hidden = true;
    el.note.hidden = true;
    el.progress.value = 0;
    el.progress.removeAttribute('aria-valuetext');
    el.progressText.textContent = 'Starting…';
    chart.reset(Number.isInteger(params.iterations) ? params.iterations : 1);
    onStarted();
    try {
      const result = await reply;
      showTrained(result);
      if (result.discarded) {
        status.set('cancelled', `Training stopped; the ${KIND_NAMES[trainKind] ?? 'model'} was not finished, so nothing was kept.`);
        return;
      }
      hasModel = true;
      status.set(result.stopped ? 'cancelled' : 'trained');
      onTrained(result.info);
    } catch (e) {
      status.report(e, `Training failed: ${e.message}`);
      el.progressText.textContent = 'Training failed.';
      status.set('error');
    } finally {
      trainId = null;
      setRunning(false);
      onEnded();
    }
  }

  function onProgress(p) {
    if (p.id !== trainId) return;
    if (p.stage) {
      onStageProgress(p);
      return;
    }
    el.progress.value = p.iterations > 0 ? p.done / p.iterations : 0;
    const left = p.done > 0 ? p.elapsed * (p.iterations - p.done) / p.done : null;
    el.progressText.textContent = `${formatCount(p.done)} / ${formatCount(p.iterations)} iterations` +
      (left !== null && p.done < p.iterations ? ` · about ${formatSeconds(left)} left` : '') +
      (finite(p.cost) ? ` · cost ${p.cost.toFixed(4)}` : '');
    el.progress.setAttribute('aria-valuetext', `${formatCount(p.done)} of ${formatCount(p.iterations)} iterations`);
    chart.add(p.cost_iteration, p.cost);
  }

  // The feature models report stages, not iterations: `done`/`iterations` count work. The
  // pretrained model's extraction counts images (its fraction of both splits: the test images'
  // features are extracted too, for the evaluation; then the training images' mirrors, if asked).
  function onStageProgress(p) {
    el.progress.value = p.iterations > 0 ? Math.min(1, p.done / p.iterations) : 0;
    const stages = trainKind === 'pretrained' ? PRETRAINED_STAGES : FEATURE_STAGES;
    const index = stages.indexOf(p.stage);
    const pct = Math.round(100 * (p.stage_done ?? 0));
    const n = (summary?.train?.n ?? NaN) * (trainFlip ? 2 : 1) + (summary?.test?.n ?? 0);
    const what = p.stage === 'extracting' && finite(n)
      ? `extracting features, image ${formatCount(Math.round((p.stage_done ?? 0) * n))} of ${formatCount(n)}`
      : `${p.stage} ${pct}%`;
    const text = index < 0 ? 'Finishing…' : `Stage ${index + 1} of ${stages.length}: ${what}`;
    el.progressText.textContent = text;
    el.progress.setAttribute('aria-valuetext', text);
  }

  function showTrained(r) {
    if (r.discarded) {
      el.progressText.textContent = `Stopped after ${formatSeconds(r.seconds)}. The ${KIND_NAMES[trainKind] ?? 'model'} needs ` +
        'every stage, so nothing was kept' + (hasModel ? ': photos are classified with the previous model.' : '.');
      return;
    }
    const ev = r.info.evaluation ?? {};
    const receipt = r.info.receipt ?? {};
    el.trainAccuracy.textContent = percent(ev.train_accuracy);
    el.testAccuracy.textContent = percent(ev.test_accuracy);
    const t = summary?.test;
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
        : r.info.kind === 'pretrained'
          ? `Done: pretrained features in ${formatSeconds(r.seconds)} (` + (r.features === 'cached'
            ? 'features kept from an earlier training, so only the logistic regression was fitted'
            : r.features === 'mirrors'
              ? `features kept from an earlier training; those of the ${formatCount(ev.n_train)} mirrored training images extracted`
              : `features of ${formatCount(ev.n_train + (ev.n_test ?? 0))} images (both splits)` +
                (r.info.params?.flip ? ` and ${formatCount(ev.n_train)} mirrored training images` : '') +
                ` extracted at ${r.info.params?.side} px`) +
            `; penalty C = ${r.info.cross_validation?.c} picked by cross-validation).`
          : `Done: ${formatCount(r.done)} iterations in ${formatSeconds(r.seconds)}.`;
    if (r.info.warning) {
      // Capitalised for a sentence of its own; the cost curve above shows the rise.
      el.note.textContent = r.info.warning[0].toUpperCase() + r.info.warning.slice(1) + '.';
      el.note.hidden = false;
    } else if (r.stopped) {
      el.note.textContent = `Stopped at iteration ${formatCount(r.done)}. The partial model is kept: ` +
        'the accuracies above are its own, and photos are classified with it.';
      el.note.hidden = false;
    }
    // The full cost record replaces the live curve, which only saw the costs at progress time.
    if (Array.isArray(r.info.costs) && r.info.costs.length) {
      // A stopped run is drawn over the iterations it ran, not the ones it would have.
      chart.replace(r.info.costs, r.stopped ? Math.max(1, r.done) : r.iterations);
    }
    status.announce(`Training ${r.stopped ? 'stopped' : 'finished'}: train accuracy ${percent(ev.train_accuracy)}, ` +
      `test accuracy ${percent(ev.test_accuracy)}.`);
  }

  el.model.addEventListener('change', onModelChange);
  el.form.addEventListener('submit', (event) => {
    event.preventDefault();
    start();
  });
  el.cancel.addEventListener('click', () => {
    if (!training) return;
    el.cancel.disabled = true;
    el.progressText.textContent = 'Stopping…';
    call(REQUEST.CANCEL).reply.catch((e) => status.report(e));
  });
  onModelChange();

  return {
    /** The worker is ready (again): the controls work unless a training runs. */
    ready() {
      for (const input of inputs) input.disabled = training;
      // A restarted worker keeps the model the page already had (see client.js).
      if (!training) {
        status.set(hasModel ? 'trained' : 'ready', summary || hasModel ? undefined
          : 'Ready, without the classic set: build your own dataset, load a model file, or drop photos.');
      }
    },
    /** The model choices and their defaults, from the worker's `ready` (kept across restarts). */
    setPresets(list) {
      if (presets.size > 0 || !Array.isArray(list)) return;
      for (const p of list) {
        presets.set(p.id, p);
        // The accuracy to expect is the core's (measured by its tests), not a copy.
        if (p.expected_accuracy) {
          const option = el.model.querySelector(`option[value="${p.id}"]`);
          if (option) option.textContent = `${p.name} — ${p.expected_accuracy}`;
          const note = document.querySelector(`.models li[data-model="${p.id}"] [data-testid$=expected]`);
          if (note) note.textContent = p.expected_accuracy;
        }
      }
      onModelChange();
    },
    /** The summary of the dataset training uses now. */
    setSummary(s) {
      summary = s;
    },
    /** A saved model is in use: the results above describe the last training, not it. */
    useModel() {
      hasModel = true;
      el.results.hidden = true;
      el.note.hidden = true;
    },
    onProgress,
    /** Trains logistic regression with its defaults (a photo card's offer), unless one runs. */
    trainDefault() {
      if (training) return;
      el.model.value = 'lr';
      onModelChange();
      start();
    },
    hasModel: () => hasModel,
    hasDataset: () => Boolean(summary),
    isTraining: () => training,
    isFeatures: () => hasStages(el.model.value),
  };
}
