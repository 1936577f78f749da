// Photos to classify: a card per photo (the photo, the image the model sees, the verdict or why
// the file could not be read), the queue that sends them to the worker one at a time, the
// "Classifying n of N" progress and the Clear button. With no model yet, photos are classified
// by the pretrained network and ImageNet's cat classes (backbone.js), and their cards say so and
// offer the heat map of where it saw a cat (heatmap.js).
//
// A photo is never lost: one given while the page puts the saved model back in use, or while
// the first model trains, gets its card at once ("waiting for a model") and is classified as soon
// as a model is in use. With no model, none training and the pretrained network out of reach,
// its card says so and offers to train logistic regression; it is classified when that ends.

import { $, plural, formatCount } from './helpers.js';
import { REQUEST } from './protocol.js';
import { drawSeen } from './heatmap.js';

// Cards are made a few at a time, one task each, so that a drop of hundreds of photos never
// blocks the page for long.
const CARDS_PER_TASK = 20;

function placeholder(text) {
  const div = document.createElement('div');
  div.className = 'thumb placeholder';
  div.textContent = text;
  return div;
}

function figure(content, caption) {
  const f = document.createElement('figure');
  const c = document.createElement('figcaption');
  c.textContent = caption;
  f.append(content, c);
  return f;
}

function paragraph(className, text) {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}

function makeCard(file, url) {
  const li = document.createElement('li');
  li.className = 'card pending';
  li.dataset.testid = 'result';
  li.dataset.state = 'pending';

  const images = document.createElement('div');
  images.className = 'card-images';
  const thumb = document.createElement('img');
  thumb.src = url;
  thumb.alt = `Your photo ${file.name}`;
  thumb.decoding = 'async';
  // Hundreds of dropped photos must not all be decoded for thumbnails at once.
  thumb.loading = 'lazy';
  thumb.className = 'thumb';
  // A file the browser cannot show (garbage, HEIC...) gets a plain tile instead of a broken icon.
  thumb.addEventListener('error', () => thumb.replaceWith(placeholder('no preview')), { once: true });

  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 64;
  canvas.className = 'seen';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'The 64 by 64 image the model sees');
  const seen = figure(canvas, 'what the model sees');
  seen.querySelector('figcaption').className = 'seen-caption';
  images.append(figure(thumb, 'your photo'), seen);

  const body = document.createElement('div');
  body.className = 'card-body';
  const name = paragraph('card-name', file.name || 'pasted image');
  name.title = file.name;
  body.append(name, paragraph('verdict', 'Waiting…'), paragraph('card-detail', ''));
  li.append(images, body);
  return li;
}

/**
 * "where did it see a cat?": a toggle (aria-pressed) drawing the heat map over `canvas`, for
 * ImageNet's verdict (the regions that made it think of its cat class) and for a
 * pretrained-feature model (the regions its own logistic regression scores as cat).
 */
function heatToggle(canvas, seen, r, seenClass = 'cat') {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'heat-toggle link-button';
  button.dataset.testid = 'heat-toggle';
  button.textContent = seenClass === 'cat' ? 'Where did it see a cat?' : `Where did it see “${seenClass}”?`;
  button.setAttribute('aria-pressed', 'false');
  const label = canvas.getAttribute('aria-label');
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    drawSeen(canvas, seen, { heat: r.heat, heatSide: r.heat_side, on });
    const what = r.class_name ? `“${r.class_name}”` : seenClass === 'cat' ? 'cat' : `“${seenClass}”`;
    canvas.setAttribute('aria-label', on ? `${label}, the regions that made it think ${what} highlighted` : label);
  });
  return button;
}

/**
 * Wires the photo cards. `app`: {call, status, hasModel(), isTraining(), backbone,
 * trainDefault(), canTrain()} with `backbone.ensure()` (backbone.js) for photos given before any
 * model, `trainDefault()` starting logistic regression with its defaults and `canTrain()` true
 * when there is a dataset to train it on. Returns {add(files), settle(), cannotStart(reason),
 * release()}: `settle` once start-up has put the saved model back in use (or found none),
 * `cannotStart` when the classifier could not start at all, `release` whenever a model may have
 * come into use or a training has ended.
 */
export function createCards({ call, status, hasModel, isTraining, backbone, trainDefault, canTrain }) {
  const el = {
    cards: $('cards'),
    bar: $('results-bar'),
    count: $('results-count'),
    clear: $('clear'),
    progress: $('classify-progress'),
  };
  const queue = []; // [{file, card}] not sent yet
  const waiting = []; // [{file, card}] given before a model was in use
  let settled = false; // start-up is over: the saved model is back in use, or there was none
  let cannotRun = null; // why the classifier could not start (then nothing classifies), or null
  let releasing = false; // fetching the pretrained network for the waiting photos
  let pumping = false;
  const objectUrls = new Set();
  // Photos of the drops not yet finished: `adding` drops still making their cards; `generation`
  // counts the clears, so that a drop being added when the results are cleared stops.
  const batch = { total: 0, done: 0, adding: 0, generation: 0 };

  const nameOf = (card) => card.querySelector('.card-name').textContent;

  function fill(card, r) {
    const names = Object.keys(r.probabilities);
    // The classic two classes are worded as cat or not; other classes by their names.
    const classic = names.length === 2 && names[0] === 'non-cat' && names[1] === 'cat';
    card.classList.remove('pending');
    card.classList.add(r.label === 'cat' ? 'is-cat' : 'is-other');
    card.dataset.state = 'done';
    card.dataset.probability = String(r.probability);
    card.dataset.probabilities = JSON.stringify(r.probabilities);
    card.dataset.label = r.label;
    card.dataset.by = r.by;
    const canvas = card.querySelector('canvas.seen');
    canvas.width = r.side;
    canvas.height = r.side;
    drawSeen(canvas, r.seen_rgba, { on: false });
    card.querySelector('.verdict').textContent = classic ? (r.label === 'cat' ? 'Cat' : 'Not a cat') : r.label;
    const imagenet = r.by === 'imagenet';
    if (imagenet) {
      canvas.setAttribute('aria-label', `The ${r.side} by ${r.side} image the pretrained network saw`);
      card.querySelector('.seen-caption').textContent = 'what the pretrained network sees';
      const by = paragraph('card-by', `no training yet: ImageNet's cat classes (${r.class_name} ${Math.round(100 * r.class_probability)}%)`);
      by.dataset.testid = 'card-by';
      card.querySelector('.verdict').after(by);
    } else if (r.side !== 64) {
      canvas.setAttribute('aria-label', `The ${r.side} by ${r.side} image the model saw`);
    }
    if (r.heat && r.heat_side) canvas.closest('figure').append(heatToggle(canvas, r.seen_rgba, r, classic ? 'cat' : r.label));
    const size = document.createElement('span');
    size.className = 'size';
    size.textContent = `${r.format.toUpperCase()}, ${r.width} × ${r.height}`;
    if (classic) {
      card.querySelector('.card-detail').replaceChildren(...bar(`P(cat) = ${r.probability.toFixed(3)}`, r.probability, 'Probability of cat'), size);
      status.announce(`${nameOf(card)}: ${r.label === 'cat' ? 'cat' : 'not a cat'}, ` +
        `probability of cat ${r.probability.toFixed(2)}${imagenet ? ', by ImageNet\'s cat classes, with no training' : ''}.`);
      return;
    }
    // The likeliest classes, most probable first, each with its bar.
    const top = Object.entries(r.probabilities).sort((x, y) => y[1] - x[1]).slice(0, 3);
    const bars = top.flatMap(([name, p]) => bar(`${name} ${(100 * p).toFixed(1)}%`, p, `Probability of ${name}`));
    card.querySelector('.card-detail').replaceChildren(...bars, size);
    status.announce(`${nameOf(card)}: ${r.label}, probability ${r.probability.toFixed(2)}.`);
  }

  // A probability's text and its meter.
  function bar(text, p, name) {
    const span = document.createElement('span');
    span.className = 'probability';
    span.textContent = text;
    const meter = document.createElement('meter');
    meter.min = 0;
    meter.max = 1;
    meter.value = p;
    meter.setAttribute('aria-label', name);
    return [span, meter];
  }

  function fail(card, text) {
    card.classList.remove('pending');
    card.classList.add('is-error');
    card.dataset.state = 'error';
    card.dataset.error = text;
    // The model saw nothing: drop the empty canvas and say why instead.
    card.querySelector('canvas.seen')?.closest('figure')?.remove();
    card.querySelector('.verdict').textContent = 'Could not read this file';
    card.querySelector('.card-detail').textContent = text;
    status.announce(`${nameOf(card)}: could not be read — ${text}`);
  }

  // A card waiting for a model: why, and (with no way to classify it) a button to train one.
  function showWaiting(card, why, offer = false) {
    card.dataset.state = 'waiting';
    card.querySelector('.verdict').textContent = 'Waiting for a model…';
    const detail = card.querySelector('.card-detail');
    detail.textContent = why;
    if (offer) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link-button';
      button.dataset.testid = 'train-default';
      button.textContent = 'Train logistic regression now';
      button.addEventListener('click', () => trainDefault());
      detail.append(' ', button);
    }
  }

  // Every waiting card says that a model is coming, and which.
  const showComing = () => {
    const why = !settled
      ? 'Your saved model is being put back in use: this photo is classified then.'
      : 'A model is training: this photo is classified as soon as it is trained.';
    for (const { card } of waiting) showWaiting(card, why);
  };

  // The waiting photos go to the classify queue, in the order they were given.
  function flush() {
    const moved = waiting.splice(0).filter(({ card }) => card.isConnected);
    for (const { card } of moved) {
      card.dataset.state = 'pending';
      card.querySelector('.verdict').textContent = 'Waiting…';
      card.querySelector('.card-detail').replaceChildren();
    }
    batch.total += moved.length;
    queue.push(...moved);
    if (moved.length && !pumping) pump();
  }

  // Classifies the waiting photos if something can: the model in use, else (start-up over, no
  // training) the pretrained network's ImageNet verdict; else they keep waiting, saying why.
  async function release() {
    if (waiting.length === 0 || releasing) return;
    if (cannotRun) {
      for (const { card } of waiting) {
        showWaiting(card, `The classifier could not start here, so this photo cannot be classified in this browser: ${cannotRun}`);
      }
      return;
    }
    if (hasModel()) {
      flush();
      return;
    }
    if (!settled || isTraining()) {
      showComing();
      return;
    }
    releasing = true;
    try {
      await backbone.ensure();
    } catch (e) {
      // Nothing can classify them yet; the cards stay and say how to get a model.
      if (!hasModel() && !isTraining()) {
        const why = `No model yet, and ${e.message.replace(/^The /, 'the ')} `;
        for (const { card } of waiting) {
          if (canTrain()) showWaiting(card, `${why}Train one and this photo is classified as soon as it is trained:`, true);
          // No dataset to train on either: a model can still come from a file or an own dataset.
          else showWaiting(card, `${why}Load a model file, or build your own dataset and train one: this photo is classified then.`);
        }
        status.announce('No model yet: the photos wait for one.');
        return;
      }
    } finally {
      releasing = false;
    }
    if (isTraining() && !hasModel()) {
      showComing();
      return;
    }
    flush();
  }

  function updateCount() {
    el.bar.hidden = el.cards.childElementCount === 0;
    el.count.textContent = plural(el.cards.childElementCount, 'photo', 'photos');
  }

  // "Classifying 12 of 300…" as each photo is sent; "Classified 300 photos." at the end.
  function progress(finished = false) {
    if (!finished) {
      batch.done++;
      el.progress.textContent = `Classifying ${formatCount(batch.done)} of ${formatCount(batch.total)}…`;
    } else if (batch.adding === 0) {
      if (batch.total > 0) el.progress.textContent = `Classified ${plural(batch.total, 'photo', 'photos')}.`;
      batch.total = 0;
      batch.done = 0;
    }
  }

  // One photo at a time: a drop of hundreds of photos reads and sends one file's bytes at a time,
  // so memory stays small and the worker can interleave them with training steps.
  async function pump() {
    pumping = true;
    try {
      while (queue.length) {
        const { file, card } = queue.shift();
        progress();
        if (!card.isConnected) continue;
        try {
          const bytes = await file.arrayBuffer();
          fill(card, await call(REQUEST.CLASSIFY, { bytes, name: file.name }, [bytes]).reply);
        } catch (e) {
          fail(card, e.message);
          // The card says what went wrong with its photo; anything else is said where it belongs
          // too, unless the crash of the worker that lost it has already been reported.
          if (!e.crash) status.report(e);
        }
      }
    } finally {
      pumping = false;
      progress(true);
    }
  }

  async function add(fileList) {
    const files = Array.from(fileList ?? []);
    if (files.length === 0) return;
    status.clearError();
    // With a model in use they are classified now; else they wait for one (see release).
    const now = hasModel();
    if (now) batch.total += files.length;
    // The newest batch goes on top, in the order it was given.
    const anchor = el.cards.firstChild;
    const generation = batch.generation;
    batch.adding++;
    const addChunk = (start) => {
      if (generation !== batch.generation) return; // cleared meanwhile
      const fragment = document.createDocumentFragment();
      for (const file of files.slice(start, start + CARDS_PER_TASK)) {
        const url = URL.createObjectURL(file);
        objectUrls.add(url);
        const card = makeCard(file, url);
        fragment.append(card);
        if (now) queue.push({ file, card });
        else {
          showWaiting(card, 'Waiting for a model…');
          waiting.push({ file, card });
        }
      }
      el.cards.insertBefore(fragment, anchor?.isConnected ? anchor : null);
      updateCount();
      if (start + CARDS_PER_TASK < files.length) setTimeout(() => addChunk(start + CARDS_PER_TASK));
      else batch.adding--;
      if (now && !pumping) pump();
      if (!now) release();
    };
    addChunk(0);
  }

  el.clear.addEventListener('click', () => {
    queue.length = 0;
    waiting.length = 0;
    Object.assign(batch, { total: 0, done: 0, adding: 0, generation: batch.generation + 1 });
    el.progress.textContent = '';
    for (const url of objectUrls) URL.revokeObjectURL(url);
    objectUrls.clear();
    el.cards.replaceChildren();
    updateCount();
    status.announce('Results cleared.');
  });

  return {
    add,
    settle() {
      settled = true;
      release();
    },
    /** Start-up failed (`reason`, a sentence): photos keep their cards and say why they wait. */
    cannotStart(reason) {
      cannotRun = reason;
      release();
    },
    release,
  };
}
