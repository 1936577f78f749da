// "What the model learnt": accuracy beside the majority baseline, a confusion matrix whose cells
// show their test images, the gallery of mislabeled test images, the first layer's weights as
// images. (Earlier runs' cost curves are chart.js's.)
//
// The numbers come from the worker's 'inspect' reply; this module only draws them.

import { $, percent, plural, rgbaCanvas } from './helpers.js';
import { REQUEST, predictedClass } from './protocol.js';
import { drawSeen } from './heatmap.js';

/** True for the classic two classes (0 non-cat, 1 cat), which the panel words as cat or not. */
const isClassic = (classes) => classes.length === 2 && classes[0] === 'non-cat' && classes[1] === 'cat';

/**
 * Wires the inspection panel. `app`: {call, status, hasDataset}. Returns {show(title), hide()}: `show`
 * asks the worker to inspect its current model and draws the result.
 */
export function initInspect(app) {
  const el = {
    panel: $('inspect'),
    model: $('inspect-model'),
    train: $('inspect-train'),
    test: $('inspect-test'),
    baseline: $('inspect-baseline'),
    errors: $('inspect-errors'),
    confusion: $('confusion'),
    perClass: $('per-class'),
    cell: $('cell-gallery'),
    cellTitle: $('cell-title'),
    cellImages: $('cell-images'),
    mistakes: $('mistakes'),
    mistakesNote: $('mistakes-note'),
    weightsBlock: $('weights-block'),
    weights: $('weights'),
    weightsNote: $('weights-note'),
  };
  let current = null; // {classes, probabilities, labels, images, side, cells}
  let generation = 0;

  // What the gallery says of image `index`'s probabilities: P(cat) for the classic two classes,
  // else the predicted class's name and probability.
  function chance(index) {
    const { classes, probabilities } = current;
    const k = classes.length;
    if (isClassic(classes)) {
      const p = probabilities[index * k + 1];
      return { p, short: `P(cat) ${p.toFixed(2)}`, long: `P(cat) ${p.toFixed(3)}` };
    }
    const c = predictedClass(probabilities, index, k);
    const p = probabilities[index * k + c];
    return { p, short: `${classes[c]} ${p.toFixed(2)}`, long: `${classes[c]} ${p.toFixed(3)}` };
  }

  function galleryItem(index, actualNote) {
    const { classes, labels, images, side } = current;
    const { p, short, long } = chance(index);
    const li = document.createElement('li');
    li.className = 'gallery-item';
    li.dataset.testid = 'gallery-image';
    li.dataset.index = String(index);
    li.dataset.probability = String(p);
    const figure = document.createElement('figure');
    const actual = classes[labels[index]];
    figure.append(rgbaCanvas(images, side, `test image ${index}: a ${actual}, ${short}`,
      index * side * side * 4));
    const heat = current.heat?.get(index);
    if (heat) {
      // Beside the image: where the pretrained-feature model saw a cat in it.
      const canvas = document.createElement('canvas');
      canvas.width = side;
      canvas.height = side;
      canvas.dataset.testid = 'gallery-heat';
      canvas.setAttribute('role', 'img');
      const what = isClassic(classes) ? 'cat' : classes[predictedClass(current.probabilities, index, classes.length)];
      canvas.setAttribute('aria-label', `test image ${index} with the regions that made the model think ${what} highlighted`);
      drawSeen(canvas, images.subarray(index * side * side * 4, (index + 1) * side * side * 4),
        { heat, heatSide: current.heatSide, on: true });
      figure.append(canvas);
    }
    const caption = document.createElement('figcaption');
    caption.textContent = `#${index} · ${long}` + (actualNote ? ` · really ${actual}` : '');
    figure.append(caption);
    li.append(figure);
    return li;
  }

  function showCell(actual, predicted) {
    const indices = current.cells[actual][predicted];
    for (const b of el.confusion.querySelectorAll('button')) {
      b.setAttribute('aria-pressed', String(b.dataset.actual === String(actual) && b.dataset.predicted === String(predicted)));
    }
    el.cellTitle.textContent = `${plural(indices.length, 'test image', 'test images')} that ` +
      `${indices.length === 1 ? 'is a' : 'are'} ${current.classes[actual]} and predicted ${current.classes[predicted]}` +
      (indices.length ? ':' : '.');
    el.cellImages.replaceChildren(...indices.map((i) => galleryItem(i, false)));
    el.cell.hidden = false;
    el.cell.dataset.actual = String(actual);
    el.cell.dataset.predicted = String(predicted);
    app.status.announce(el.cellTitle.textContent);
  }

  function drawConfusion() {
    // Rows: actual class; columns: predicted class; cat first, as people read "cat?" first;
    // other classes in label order.
    const { classes } = current;
    const order = isClassic(classes) ? [1, 0] : classes.map((_, i) => i);
    const table = el.confusion;
    table.replaceChildren();
    const caption = document.createElement('caption');
    caption.textContent = 'Test images by actual (rows) and predicted (columns) class. Choose a cell to see its images.';
    const head = document.createElement('tr');
    head.append(document.createElement('td'));
    for (const p of order) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = `predicted ${classes[p]}`;
      head.append(th);
    }
    const thead = document.createElement('thead');
    thead.append(head);
    const tbody = document.createElement('tbody');
    for (const a of order) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = `actual ${classes[a]}`;
      tr.append(th);
      for (const p of order) {
        const td = document.createElement('td');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = a === p ? 'cell right' : 'cell wrong';
        button.dataset.testid = 'confusion-cell';
        button.dataset.actual = String(a);
        button.dataset.predicted = String(p);
        button.setAttribute('aria-pressed', 'false');
        const n = current.cells[a][p].length;
        button.textContent = String(n);
        button.setAttribute('aria-label', `${plural(n, 'image', 'images')}: actual ${classes[a]}, predicted ${classes[p]}`);
        button.addEventListener('click', () => showCell(a, p));
        td.append(button);
        tr.append(td);
      }
      tbody.append(tr);
    }
    table.append(caption, thead, tbody);
  }

  function drawWeights(weights, side, kind) {
    const size = side * side * 4;
    if (!weights) {
      el.weights.replaceChildren();
      el.weightsNote.textContent = `Not available for this kind of model (${kind ?? 'unknown'}): its first layer does not work on pixels.`;
      return;
    }
    const units = weights.byteLength / size;
    const bytes = new Uint8Array(weights);
    const items = [];
    for (let u = 0; u < units; u++) {
      const li = document.createElement('li');
      li.dataset.testid = 'weight-image';
      li.dataset.unit = String(u);
      li.append(rgbaCanvas(bytes, side, `weights of first-layer unit ${u + 1} of ${units}`, u * size));
      items.push(li);
    }
    el.weights.replaceChildren(...items);
    el.weightsNote.textContent = units === 1
      ? 'The 12,288 weights of logistic regression, one per pixel and colour: grey is 0, brighter ' +
        'means “more of this colour here says cat”, darker the opposite (scaled to the largest weight).'
      : `The ${units} units of the first layer, each a weight per pixel and colour: grey is 0, ` +
        'brighter means the unit responds to more of that colour there, darker to less (each unit ' +
        'scaled to its own largest weight).';
  }

  async function show(title, kind) {
    const mine = ++generation;
    // Nothing to test the model on (a server without the classic set, no own dataset yet).
    if (app.hasDataset && !app.hasDataset()) {
      el.panel.hidden = true;
      return;
    }
    let r;
    try {
      r = await app.call(REQUEST.INSPECT).reply;
    } catch (e) {
      app.status.report(e, `Cannot inspect the model: ${e.message}`);
      return;
    }
    if (mine !== generation) return; // a newer model was chosen meanwhile
    const { classes, probabilities, labels, evaluation: ev } = r;
    const k = classes.length;
    const cells = classes.map(() => classes.map(() => []));
    for (let i = 0; i < labels.length; i++) cells[labels[i]][predictedClass(probabilities, i, k)].push(i);
    // Heat maps by test image (pretrained-feature models, the images they get wrong).
    let heat = null;
    if (Array.isArray(r.heat_indices) && r.heat_side) {
      const n = r.heat_side * r.heat_side;
      heat = new Map(r.heat_indices.map((i, k) => [i, r.heat.slice(k * n, (k + 1) * n)]));
    }
    current = { classes, probabilities, labels, images: r.images, side: r.side, cells, heat, heatSide: r.heat_side };
    el.model.textContent = title;
    el.train.textContent = percent(ev.train_accuracy);
    el.test.textContent = percent(ev.test_accuracy);
    el.baseline.textContent = percent(ev.test_majority_baseline);
    const wrong = cells.flatMap((row, a) => row.flatMap((indices, p) => (a === p ? [] : indices)))
      .sort((a, b) => a - b);
    el.errors.textContent = `${wrong.length} of ${labels.length}`;
    drawConfusion();
    // Each class's test images and how many the model gets right (recall).
    el.perClass.textContent = labels.length === 0 ? '' : 'Right per class: ' + classes.map((name, a) => {
      const n = cells[a].reduce((sum, c) => sum + c.length, 0);
      return n ? `${name} ${percent(cells[a][a].length / n)} (${cells[a][a].length} of ${n})` : `${name}: no test image`;
    }).join(' · ') + '.';
    el.cell.hidden = true;
    el.cellImages.replaceChildren();
    el.mistakes.replaceChildren(...wrong.map((i) => galleryItem(i, true)));
    el.mistakesNote.textContent = labels.length === 0 ? 'This dataset has no test images.'
      : wrong.length ? `The ${plural(wrong.length, 'test image', 'test images')} the model gets wrong, with ` +
        (isClassic(classes) ? 'its probability of “cat”' + (heat ? ' and, beside each, where it saw a cat.' : '.')
          : 'the class it predicted and its probability' + (heat ? ' and, beside each, where it saw that class.' : '.'))
        : 'The model gets every test image right.';
    drawWeights(r.weights, r.side, kind);
    el.panel.hidden = false;
  }

  return {
    show,
    hide() {
      generation++;
      el.panel.hidden = true;
    },
  };
}
