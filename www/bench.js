// The browser benchmark: runs every job in a fresh module worker (bench-worker.js), one at a
// time, and shows min / median / max wall time and the wasm memory after the work.
//
// URL parameters: runs (default 5) for the fast rows and the photo, slowruns (default 3) for the
// straightforward rows, deepiters (default 100) for the straightforward deep network, whose time
// is extrapolated to 2500 iterations when it is less; wait=1 to start on window.startBench().
//
// When finished: <body data-done="1">, and #results holds the results as JSON.

import { $ } from './helpers.js';
import { intParam, params, runInFreshWorker, status } from './bench-common.js';

const RUNS = intParam('runs', 5);
const SLOW_RUNS = intParam('slowruns', 3);
const DEEP_ITERS = 2500;
const DEEP_DIRECT_ITERS = Math.min(intParam('deepiters', 100), DEEP_ITERS);

// Training requests by model name: the defaults (2000 iterations at 0.005; [20, 7, 5] at
// 0.0075) are the Rust core's, filled in there.
const LR = { model: 'lr' };
const DEEP = { model: 'deep', iterations: DEEP_ITERS };
const JPEG = { kind: 'makejpeg', width: 4000, height: 3000, quality: 0.9 };

/** Runs one job in a fresh bench worker. */
const runJob = (job, transfer = []) => runInFreshWorker('./bench-worker.js', job, transfer);

const sorted = (xs) => [...xs].sort((a, b) => a - b);
function median(xs) {
  const s = sorted(xs);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
function stats(xs) {
  if (!xs.length) return null;
  const s = sorted(xs);
  return { min: s[0], median: median(s), max: s[s.length - 1] };
}

const results = {
  startedAt: new Date().toISOString(),
  userAgent: navigator.userAgent,
  hardwareConcurrency: navigator.hardwareConcurrency,
  config: { runs: RUNS, slowRuns: SLOW_RUNS, deepDirectIterations: DEEP_DIRECT_ITERS },
  rows: [],
  checks: [],
  jpeg: null,
  errors: [],
};

/**
 * Runs `row` `count` times. `job(i)` gives the job of run i; `time(r)` the time to report
 * (the measured time, or an extrapolation).
 */
async function runRow(row, count, job, time = (r) => r.ms) {
  row.runs = [];
  results.rows.push(row);
  render();
  for (let i = 0; i < count; i++) {
    status(`${row.name}: run ${i + 1} of ${count}`);
    try {
      const [j, transfer] = job(i);
      const r = await runJob(j, transfer);
      r.timeMs = time(r);
      row.runs.push(r);
      console.log(`bench: ${row.name} run ${i + 1}: ${r.timeMs.toFixed(1)} ms, ${r.memMB.toFixed(1)} MB`);
    } catch (e) {
      row.error = e.message;
      results.errors.push(`${row.name}: ${e.message}`);
      console.log(`bench: ${row.name} failed: ${e.message}`);
      break;
    }
  }
  row.time = stats(row.runs.map((r) => r.timeMs));
  const colds = row.runs.map((r) => r.coldMs).filter((v) => v !== null && v !== undefined);
  row.coldMedianMs = colds.length ? stats(colds).median : null;
  row.memMB = row.runs.length ? Math.max(...row.runs.map((r) => r.memMB)) : null;
  row.memBeforeMB = row.runs.length ? Math.max(...row.runs.map((r) => r.memBeforeMB)) : null;
  const first = row.runs[0];
  if (first && first.finalCost !== undefined) {
    row.finalCost = first.finalCost;
    row.testAccuracy = first.testAccuracy;
    row.trainAccuracy = first.trainAccuracy;
    // Every run computes the same thing: say so if one does not.
    row.deterministic = row.runs.every((r) => r.finalCost === first.finalCost && r.testAccuracy === first.testAccuracy);
  }
  render();
  return row;
}

const trainJob = (params, wantModel = false) => () => [{ kind: 'train', params, wantModel, warmup: params.solver !== 'direct' }, []];

/** Fast and straightforward runs agree: final costs within 1e-4 relative, same test accuracy. */
function check(name, fast, slow, what) {
  if (fast?.finalCost === undefined || slow?.finalCost === undefined) {
    results.checks.push({ name, what, ok: false, detail: 'missing results' });
    return;
  }
  const rel = Math.abs(fast.finalCost - slow.finalCost) / Math.max(Math.abs(fast.finalCost), Number.MIN_VALUE);
  const costOk = rel <= 1e-4;
  const accOk = fast.testAccuracy === slow.testAccuracy;
  results.checks.push({
    name,
    what,
    ok: costOk && accOk && fast.deterministic !== false && slow.deterministic !== false,
    fastCost: fast.finalCost,
    slowCost: slow.finalCost,
    relDiff: rel,
    costOk,
    fastTestAccuracy: fast.testAccuracy,
    slowTestAccuracy: slow.testAccuracy,
    accOk,
  });
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? '-' : v.toFixed(digits));

function render() {
  const body = $('rows');
  body.replaceChildren();
  for (const row of results.rows) {
    const tr = document.createElement('tr');
    const cells = [
      row.name + (row.note ? ` ${row.note}` : ''),
      `${row.runs.length}`,
      fmt(row.time?.min), fmt(row.time?.median), fmt(row.time?.max),
      fmt(row.coldMedianMs), fmt(row.memMB), row.ratio === undefined ? '-' : `${row.ratio.toFixed(1)}x`,
      row.finalCost === undefined ? '-' : row.finalCost.toPrecision(8),
      row.testAccuracy === undefined ? '-' : fmt(100 * row.testAccuracy, 1),
      row.error ?? '',
    ];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  const checks = $('checks');
  checks.replaceChildren();
  for (const c of results.checks) {
    const li = document.createElement('li');
    li.textContent = c.detail
      ? `${c.name}: FAILED (${c.detail})`
      : `${c.name} (${c.what}): ${c.ok ? 'OK' : 'FAILED'}: cost ${c.fastCost.toPrecision(10)} vs ${c.slowCost.toPrecision(10)} ` +
        `(rel. diff ${c.relDiff.toExponential(2)}), test accuracy ${fmt(100 * c.fastTestAccuracy)}% vs ${fmt(100 * c.slowTestAccuracy)}%`;
    checks.append(li);
  }
}

async function main() {
  $('config').textContent = `runs=${RUNS}, slowruns=${SLOW_RUNS}, deepiters=${DEEP_DIRECT_ITERS}`;

  // 1, 2: logistic regression. The last fast run's model is kept for the photo.
  let modelBytes = null;
  const lrFast = await runRow({ name: 'lr-fast', runs: [] }, RUNS, (i) => [
    { kind: 'train', params: { ...LR, solver: 'gram' }, wantModel: i === RUNS - 1, warmup: true }, []]);
  modelBytes = lrFast.runs.at(-1)?.modelBytes ?? null;
  for (const r of lrFast.runs) delete r.modelBytes;
  const lrSlow = await runRow({ name: 'lr-straightforward', runs: [] }, SLOW_RUNS, trainJob({ ...LR, solver: 'direct' }));
  if (lrFast.time && lrSlow.time) lrSlow.ratio = lrSlow.time.median / lrFast.time.median;
  check('lr', lrFast, lrSlow, '2000 iterations');

  // 3, 4: the deep network. The straightforward one may run fewer iterations; its step time
  // is then scaled to 2500 iterations (construction and finish are counted once).
  const deepFast = await runRow({ name: 'deep-fast', runs: [] }, RUNS, trainJob({ ...DEEP, solver: 'gram' }));
  const scale = DEEP_ITERS / DEEP_DIRECT_ITERS;
  const deepSlow = await runRow(
    { name: 'deep-straightforward', note: scale > 1 ? `(${DEEP_DIRECT_ITERS} it, x${+scale.toFixed(2)})` : undefined, runs: [] },
    SLOW_RUNS,
    trainJob({ ...DEEP, iterations: DEEP_DIRECT_ITERS, solver: 'direct' }),
    (r) => r.phases.constructMs + r.phases.stepMs * scale + r.phases.finishMs,
  );
  if (deepFast.time && deepSlow.time) deepSlow.ratio = deepSlow.time.median / deepFast.time.median;
  if (scale > 1) {
    // Compare like with like: the fast solver for the same number of iterations (once, untimed
    // in the table).
    status(`deep-fast at ${DEEP_DIRECT_ITERS} iterations (for the agreement check)`);
    try {
      const r = await runJob({ kind: 'train', params: { ...DEEP, iterations: DEEP_DIRECT_ITERS, solver: 'gram' } });
      results.deepFastCheck = r;
      check('deep', { ...r, deterministic: true }, deepSlow, `${DEEP_DIRECT_ITERS} iterations`);
    } catch (e) {
      results.errors.push(`deep-fast check: ${e.message}`);
    }
  } else {
    check('deep', deepFast, deepSlow, `${DEEP_ITERS} iterations`);
  }

  // The learned-feature model, defaults (seed 1); per-stage times are in the JSON.
  await runRow({ name: 'features', runs: [] }, RUNS, trainJob({ model: 'features', seed: 1 }));

  // 5: one 12-megapixel JPEG, drawn once, classified in a fresh worker each run.
  status('drawing the 12-megapixel JPEG');
  let jpeg = null;
  try {
    const made = await runJob(JPEG);
    jpeg = made.jpeg;
    results.jpeg = { width: made.width, height: made.height, quality: made.quality, bytes: made.jpegBytes, drawMs: made.ms };
  } catch (e) {
    results.errors.push(`makejpeg: ${e.message}`);
  }
  if (jpeg) {
    const row = await runRow({ name: 'classify-12mp', runs: [] }, RUNS, () => {
      const copy = jpeg.slice(0);
      const model = modelBytes ? modelBytes.slice(0) : null;
      return [{ kind: 'classify', jpeg: copy, modelBytes: model, warmup: true }, model ? [copy, model] : [copy]];
    });
    const r = row.runs[0];
    if (r) row.photo = { probability: r.probability, label: r.label, width: r.width, height: r.height, format: r.format };
  }

  status(results.errors.length ? `finished with ${results.errors.length} error(s)` : 'finished');
  results.finishedAt = new Date().toISOString();
  render();
  $('results').textContent = JSON.stringify(results, null, 2);
  document.body.dataset.done = '1';
}

function start() {
  main().catch((e) => {
    results.errors.push(`bench.js: ${e.message}`);
    $('results').textContent = JSON.stringify(results, null, 2);
    status(`failed: ${e.message}`);
    document.body.dataset.done = '1';
  });
}

// With ?wait=1 the driver script starts the benchmark itself (window.startBench()), once the
// freshly launched browser has finished its own start-up work: for its first ~2 s it keeps both
// cores of a small machine busy, which would be timed as ours.
if (params.get('wait') === '1') {
  window.startBench = start;
  status('waiting for the start signal');
} else {
  start();
}
