// What both benchmark pages (bench.js, bench-backbone.js) share: their URL parameters, their
// status line, and running one job in a fresh module worker.

import { $ } from './helpers.js';

/** The page's URL parameters. */
export const params = new URLSearchParams(location.search);

/** The URL parameter `name` as an integer >= 1, else `fallback`. */
export const intParam = (name, fallback) => {
  const v = Number.parseInt(params.get(name) ?? '', 10);
  return Number.isFinite(v) && v >= 1 ? v : fallback;
};

/** Shows `text` in #status and logs it (the benchmark scripts read the console). */
export const status = (text) => {
  $('status').textContent = text;
  console.log(`bench: ${text}`);
};

/**
 * Runs one job in a fresh module worker (`url`), which answers `{type: 'result', ...}` or an
 * error with a `message`; resolves with the result, rejects with the error.
 */
export function runInFreshWorker(url, job, transfer = []) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { type: 'module' });
    const done = (fn, value) => {
      worker.terminate();
      fn(value);
    };
    worker.addEventListener('message', (event) => {
      const msg = event.data ?? {};
      if (msg.type === 'result') done(resolve, msg);
      else done(reject, new Error(msg.message ?? 'the worker failed without a message'));
    });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      done(reject, new Error(`worker error: ${event.message || 'the worker script could not start'}`));
    });
    worker.addEventListener('messageerror', () => done(reject, new Error('a message could not be deserialised')));
    worker.postMessage(job, transfer);
  });
}
