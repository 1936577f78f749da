// The backbone benchmark page: `runs` fresh workers one after the other (bench-backbone-worker.js),
// each running `passes` whole passes and timing every layer alone. URL parameters: runs
// (default 5), passes (default 259, the dataset's images), minms (default 20, per layer);
// wait=1 to start on window.startBench(). When finished: <body data-done="1"> and #results
// holds {runs: [{loadMs, report}], errors} as JSON.

import { $ } from './helpers.js';
import { intParam, params, runInFreshWorker, status } from './bench-common.js';

const config = { runs: intParam('runs', 5), passes: intParam('passes', 259), minMs: intParam('minms', 20) };

const runOnce = () =>
  runInFreshWorker('./bench-backbone-worker.js', { passes: config.passes, minMs: config.minMs });

async function startBench() {
  const results = { config, hardwareConcurrency: navigator.hardwareConcurrency, runs: [], errors: [] };
  for (let i = 0; i < config.runs; i++) {
    status(`run ${i + 1} of ${config.runs}`);
    try {
      const r = await runOnce();
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
