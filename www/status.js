// The status line under the title, the page's message area (an alert) and the announcements
// for screen readers; and where each kind of error is shown.

import { $ } from './helpers.js';

const STATUS_DETAIL = {
  loading: 'Loading the model code and the dataset…',
  ready: 'Ready: pick a model and press Train.',
  training: 'Training in the background — the page stays responsive.',
  trained: 'Trained. Drop, paste or choose photos to classify them.',
  cancelled: 'Training stopped early; the partial model is kept.',
  error: 'Something went wrong — see the message below.',
};

/**
 * Where an error of each kind (protocol.js's ERROR_KINDS) is shown: `photo` on that photo's
 * card; `model` by the saved models, `dataset` by the dataset panel, `state`, `parameter` and
 * `training` by the training panel, `internal` and `io` in the page's message area. The panels
 * have no message area of their own: theirs is the page's, under the title, as an alert.
 */
export const ERROR_PLACE = Object.freeze({
  photo: 'photo',
  model: 'model',
  dataset: 'dataset',
  state: 'training',
  parameter: 'training',
  training: 'training',
  internal: 'page',
  io: 'page',
});

/** The place of an error (a RequestError, or any other: `page`). */
export const placeOf = (e) => ERROR_PLACE[e?.kind] ?? 'page';

export function createStatus() {
  const el = {
    status: $('status'),
    detail: $('status-detail'),
    error: $('error'),
    announcer: $('announcer'),
  };

  const status = {
    /** Shows state `name` (loading, ready, training, trained, cancelled, error) and its detail. */
    set(name, detail) {
      el.status.textContent = name;
      el.status.dataset.state = name;
      el.detail.textContent = detail ?? STATUS_DETAIL[name] ?? '';
    },

    showError(text) {
      el.error.textContent = text;
      el.error.hidden = false;
    },

    clearError() {
      el.error.textContent = '';
      el.error.hidden = true;
    },

    /** Says `text` to screen readers (politely). */
    announce(text) {
      el.announcer.textContent = text;
    },

    /**
     * Shows an error where its kind belongs, as `text` (its message unless given). A `photo`
     * error is its card's to show: nothing happens here.
     */
    report(e, text = e.message) {
      if (placeOf(e) !== 'photo') status.showError(text);
    },
  };
  return status;
}
