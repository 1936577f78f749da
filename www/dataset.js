// The dataset panel: the built-in dataset's summary and a few of its training images.

import { $, describeSplits, rgbaCanvas } from './helpers.js';

/**
 * Shows the worker's `ready` message: {summary, samples}; a null summary when the server has
 * no built-in dataset, with how to add it.
 */
export function showDataset({ summary, samples }) {
  const missing = !summary;
  $('dataset-samples-hint').hidden = missing;
  $('samples').hidden = missing;
  $('dataset-missing').hidden = !missing;
  if (missing) {
    $('dataset').textContent = 'The classic cat-vs-non-cat set is not on this server.';
    return;
  }
  $('dataset').textContent = `${describeSplits(summary)}.`;
  const fragment = document.createDocumentFragment();
  for (const s of samples) {
    const li = document.createElement('li');
    li.className = `sample sample-${s.label === 'cat' ? 'cat' : 'other'}`;
    const caption = document.createElement('span');
    caption.textContent = s.label;
    li.append(rgbaCanvas(s.rgba, summary.side, `training image ${s.index}: ${s.label}`), caption);
    fragment.append(li);
  }
  $('samples').replaceChildren(fragment);
}
