// The backbone benchmark page: `runs` fresh workers one after the other (bench-backbone-worker.js),
// each running `passes` whole passes, timing every layer alone, then a pretrained-feature
// training, `retrains` head-only retrainings and as many classifications of a 12-megapixel JPEG
// (drawn once by bench-worker.js; #results holds it too, base64, for the native run). URL
// parameters: runs (default 5), passes (default 259, the dataset's images), minms (default 20,
// per layer), retrains (default 5);
// wait=1 to start on window.startBench(). When finished: <body data-done="1"> and #results
// holds {runs: [{loadMs, report}], jpeg: {width, height, bytes, base64}, errors} as JSON.

import { $ } from './helpers.js';
import { intParam, params, runInFreshWorker, status } from './bench-common.js';

const config = {
  runs: intParam('runs', 5), passes: intParam('passes', 259), minMs: intParam('minms', 20), retrains: intParam('retrains', 5),
};

const JPEG = { kind: 'makejpeg', width: 4000, height: 3000, quality: 0.9 };

const runOnce = (jpeg) => {
  const copy = jpeg?.slice(0);
  return runInFreshWorker('./bench-backbone-worker.js',
    { passes: config.passes, minMs: config.minMs, retrains: config.retrains, jpeg: copy }, copy ? [copy] : []);
};

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function startBench() {
  const results = { config, hardwareConcurrency: navigator.hardwareConcurrency, runs: [], jpeg: null, errors: [] };
  status('drawing the 12-megapixel JPEG');
  let jpeg = null;
  try {
    const made = await runInFreshWorker('./bench-worker.js', JPEG);
    jpeg = made.jpeg;
    results.jpeg = { width: made.width, height: made.height, bytes: made.jpegBytes, base64: base64(jpeg) };
  } catch (e) {
    results.errors.push(`makejpeg: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (let i = 0; i < config.runs; i++) {
    status(`run ${i + 1} of ${config.runs}`);
    try {
      const r = await runOnce(jpeg);
      const total = r.report.image_ms.reduce((a, b) => a + b, 0);
      status(`run ${i + 1}: ${config.passes} images in ${total.toFixed(0)} ms`);
      results.runs.push({ loadMs: r.loadMs, report: r.report });
    } catch (e) {
      results.errors.push(e instanceof Error ? e.message : String(e));
      status(`run ${i + 1} failed: ${results.errors.at(-1)}`);
    }
  }
  $('results').textContent = JSON.stringify(results);
  document.body.dataset.done = '1';
  status('done');
}

$('config').textContent = JSON.stringify(config);
window.startBench = startBench;
if (params.get('wait') !== '1') startBench();
