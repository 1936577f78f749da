#!/usr/bin/env node
// The browser benchmark, end to end: starts the real server, opens /bench.html in Debian's
// headless Chromium (playwright-core from tests/e2e), or in Firefox ESR or WebKitGTK's MiniBrowser
// (tests/e2e/engines.js) with --engine, starts it once the browser's own start-up work is over (CPU use from /proc/stat), waits for it to finish and prints the results as a
// table, with the machine it ran on. A benchmark, not a test: nothing is asserted
// about timings; the exit code is non-zero only when a job fails (or the page never finishes).
//
//   node tests/bench/browser-bench.mjs [--engine chromium|firefox|webkit] [runs=5] [slowruns=3] [deepiters=100]
//
// Needs `./build.sh build` (www/pkg, www/data) and `npm ci` in tests/e2e.

import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { gzipSync, constants as zlib } from 'node:zlib';
import { CHROMIUM, CHROMIUM_ARGS, DATA, ROOT, startServer } from '../e2e/helpers.js';
import { launch, waitFor } from '../e2e/engines.js';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const TIMEOUT_MS = 20 * 60_000;

const args = process.argv.slice(2);
let engine = 'chromium';
const engineAt = args.indexOf('--engine');
if (engineAt >= 0) {
  engine = args[engineAt + 1];
  args.splice(engineAt, 2);
}
if (!['chromium', 'firefox', 'webkit'].includes(engine)) {
  console.error(`browser-bench: --engine must be chromium, firefox or webkit, not '${engine}'`);
  process.exit(2);
}

function argInt(index, fallback, name) {
  const raw = args[index];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`browser-bench: ${name} must be a positive integer, not '${raw}'`);
    console.error('usage: node tests/bench/browser-bench.mjs [runs=5] [slowruns=3] [deepiters=100]');
    process.exit(2);
  }
  return v;
}
const runs = argInt(0, 5, 'runs');
const slowRuns = argInt(1, 3, 'slowruns');
const deepIters = argInt(2, 100, 'deepiters');

const MB = 1024 * 1024;
const cpuModel = () => {
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    return m ? m[1].trim() : os.cpus()[0]?.model ?? '?';
  } catch {
    return os.cpus()[0]?.model ?? '?';
  }
};
const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' ');

function table(header, rows, rightAligned) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells
    .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
    .join('  ')
    .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? '-' : v.toFixed(digits));

/** Busy fraction of all CPUs (0..1) over `ms`, from /proc/stat; null where there is none. */
async function cpuBusy(ms) {
  const sample = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = sample();
    await new Promise((r) => setTimeout(r, ms));
    const b = sample();
    return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : null;
  } catch {
    return null;
  }
}

/**
 * Waits (at most 15 s) until the machine has been quiet (< 15% of all CPUs busy) for 0.5 s, so
 * the browser's own start-up work is not timed as the benchmark's. Returns how long it waited.
 */
async function settleCpu() {
  const t0 = Date.now();
  let busy = null;
  while (Date.now() - t0 < 15_000) {
    busy = await cpuBusy(500);
    if (busy === null || busy < 0.15) break;
  }
  const waited = ((Date.now() - t0) / 1000).toFixed(1);
  const last = busy === null ? 'CPU use unknown' : `${(100 * busy).toFixed(0)}% of all CPUs busy`;
  return `waited ${waited} s for the browser to settle (${last})`;
}

/** Runs the benchmark page in Firefox or WebKit (engines.js): {results, settle}. */
async function inOtherEngine(url, appOrigin, pageErrors) {
  let browser;
  try {
    browser = await launch(engine, { appOrigin });
    process.stderr.write(`browser-bench: ${url} in ${engine}\n`);
    await browser.goto(url);
    await waitFor(browser, () => typeof window.startBench === 'function', undefined, { timeout: 60_000 });
    const settle = await settleCpu();
    process.stderr.write(`browser-bench: ${settle}; starting (the page's progress lines are not relayed)\n`);
    // Not awaited in the page: WebDriver classic would time the script out.
    await browser.evaluate(() => { window.startBench(); });
    await waitFor(browser, () => document.body.dataset.done === '1', undefined, { timeout: TIMEOUT_MS, interval: 500 });
    const results = JSON.parse(await browser.evaluate(() => document.querySelector('#results').textContent));
    const ua = await browser.version();
    results.browser = engine === 'firefox' ? `Firefox ${ua.match(/Firefox\/(\S+)/)?.[1]} (headless, WebDriver BiDi)`
      : `WebKitGTK MiniBrowser, ${ua.match(/AppleWebKit\/(\S+)/)?.[0]} (Xvfb, WebKitWebDriver)`;
    pageErrors.push(...(browser.collectErrors ? await browser.collectErrors() : browser.errors()));
    return { results, settle };
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
}

/** Runs the benchmark page in Chromium (playwright-core), relaying its progress lines:
 * {results, settle}. */
async function inChromium(url, started, pageErrors) {
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: 30_000,
    });
    const page = await browser.newPage();
    page.on('console', (m) => {
      const text = m.text();
      if (m.type() === 'error') pageErrors.push(`console: ${text}`);
      if (text.startsWith('bench: ') || m.type() === 'error') {
        process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
      }
    });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('crash', () => pageErrors.push('page crashed'));
    process.stderr.write(`browser-bench: ${url}\n`);
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.startBench === 'function');
    const settle = await settleCpu();
    process.stderr.write(`browser-bench: ${settle}; starting\n`);
    await page.evaluate(() => window.startBench());
    await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: TIMEOUT_MS, polling: 500 });
    const results = JSON.parse(await page.textContent('#results'));
    results.browser = `Chromium ${browser.version()} (headless)`;
    return { results, settle };
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
}

async function main() {
  const wasmPath = path.join(ROOT, 'www', 'pkg', 'purrceptron_bg.wasm');
  const wasmBytes = readFileSync(wasmPath);
  const wasmGz = gzipSync(wasmBytes, { level: zlib.Z_BEST_COMPRESSION });
  const wasmMtime = statSync(wasmPath).mtime.toISOString();
  const datasetBytes = statSync(DATA).size;
  const loadBefore = load();

  const server = await startServer();
  const pageErrors = [];
  let results;
  let settle;
  const started = Date.now();
  const url = `${server.url}bench.html?runs=${runs}&slowruns=${slowRuns}&deepiters=${deepIters}&wait=1`;
  try {
    ({ results, settle } = engine === 'chromium'
      ? await inChromium(url, started, pageErrors)
      : await inOtherEngine(url, new URL(server.url).origin, pageErrors));
  } finally {
    await server.stop();
  }
  const totalS = (Date.now() - started) / 1000;

  const out = [];
  out.push('Purrceptron browser benchmark');
  out.push(`machine   ${os.availableParallelism()} CPUs (nproc), ${cpuModel()}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM`);
  out.push(`browser   ${results.browser}, navigator.hardwareConcurrency ${results.hardwareConcurrency}`);
  out.push(`load avg  before ${loadBefore}   after ${load()}   (1, 5, 15 min)`);
  out.push(`config    runs=${runs} slowruns=${slowRuns} deepiters=${deepIters}; every run in a fresh module worker`);
  out.push(`start     ${settle}`);
  out.push(`wasm      ${wasmBytes.length} bytes raw (${(wasmBytes.length / MB).toFixed(2)} MB), ` +
    `${wasmGz.length} bytes gzip -9 (${(wasmGz.length / MB).toFixed(2)} MB); built ${wasmMtime}`);
  out.push(`dataset   ${datasetBytes} bytes (${(datasetBytes / MB).toFixed(2)} MB) www/data/catvnoncat.safetensors`);
  if (results.jpeg) {
    out.push(`photo     ${results.jpeg.width}x${results.jpeg.height} JPEG q${results.jpeg.quality}, ` +
      `${results.jpeg.bytes} bytes (${(results.jpeg.bytes / MB).toFixed(2)} MB), drawn in ${fmt(results.jpeg.drawMs, 0)} ms`);
  }
  out.push('');
  const rows = results.rows.map((r) => [
    r.name + (r.note ? ` ${r.note}` : ''),
    String(r.runs.length),
    fmt(r.time?.min), fmt(r.time?.median), fmt(r.time?.max),
    r.coldMedianMs === null || r.coldMedianMs === undefined ? '-' : fmt(r.coldMedianMs),
    fmt(r.memMB),
    r.ratio === undefined ? '-' : `${r.ratio.toFixed(1)}x`,
    r.finalCost === undefined ? '-' : r.finalCost.toFixed(8),
    r.testAccuracy === undefined ? '-' : `${fmt(100 * r.testAccuracy)}%`,
    r.error ? `ERROR: ${r.error}` : '',
  ]);
  out.push(table(
    ['row', 'runs', 'min ms', 'median ms', 'max ms', 'cold ms', 'memMB', 'slow/fast', 'final cost', 'test acc', ''],
    rows,
    new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]),
  ));
  out.push('');
  out.push('min/median/max: a second run in the same worker (optimised code); cold ms: the median first run in a ' +
    'fresh worker (V8 tier-up and memory growth included); straightforward rows run once per worker.');
  out.push('memMB: wasm memory.buffer.byteLength after the work (the peak; it never shrinks); ' +
    'after loading module + dataset, before the work, it was ' +
    results.rows.filter((r) => r.memBeforeMB !== null).map((r) => `${fmt(r.memBeforeMB)} (${r.name})`).join(', ') + '.');
  for (const name of ['lr-fast', 'deep-fast']) {
    const row = results.rows.find((r) => r.name === name);
    if (!row?.runs?.length) continue;
    const phase = (key) => fmt(median(row.runs.map((r) => r.phases[key])));
    out.push(`${name}: median ms per phase (second run in the worker): set-up (the Gram matrix) ${phase('constructMs')}, ` +
      `iterations ${phase('stepMs')}, finish (weights, cost, evaluation) ${phase('finishMs')}.`);
  }
  const features = results.rows.find((r) => r.name === 'features');
  if (features?.runs?.length) {
    const names = Object.keys(features.runs[0].phases?.stageMs ?? {});
    out.push('features: median ms per stage (second run in the worker): ' + names
      .map((n) => `${n} ${fmt(median(features.runs.map((r) => r.phases.stageMs[n] ?? 0)))}`).join(', ') +
      `; finish (test-set evaluation) ${fmt(median(features.runs.map((r) => r.phases.finishMs)))}.`);
  }
  const deep = results.rows.find((r) => r.name === 'deep-straightforward');
  if (deep?.note) {
    out.push(`deep-straightforward ran ${results.config.deepDirectIterations} iterations; its times are ` +
      `construction + ${2500 / results.config.deepDirectIterations} x step time + finish (evaluation), i.e. extrapolated to 2500 iterations. ` +
      `Measured medians: ${deep.runs.length ? fmt(median(deep.runs.map((r) => r.ms))) : '-'} ms in all, ` +
      `${deep.runs.length ? fmt(median(deep.runs.map((r) => r.phases.stepMs))) : '-'} ms of steps.`);
  }
  const photo = results.rows.find((r) => r.name === 'classify-12mp')?.photo;
  if (photo) {
    out.push(`classify-12mp: ${photo.format} ${photo.width}x${photo.height}, p(cat) = ${photo.probability.toFixed(4)} (${photo.label}); ` +
      'model: the last lr-fast run; straightforward variant: -');
  }
  out.push('');
  out.push('Agreement of the solvers (final cost within 1e-4 relative, same test accuracy):');
  for (const c of results.checks) {
    if (c.detail) {
      out.push(`  ${c.name}: FAILED (${c.detail})`);
      continue;
    }
    out.push(`  ${c.name.padEnd(4)} (${c.what}): ${c.ok ? 'OK' : 'MISMATCH'}  cost fast ${c.fastCost.toFixed(10)}  ` +
      `straightforward ${c.slowCost.toFixed(10)}  rel diff ${c.relDiff.toExponential(2)} ${c.costOk ? '<=' : '>'} 1e-4;  ` +
      `test acc ${fmt(100 * c.fastTestAccuracy)}% vs ${fmt(100 * c.slowTestAccuracy)}% ${c.accOk ? '(same)' : '(DIFFERENT)'}`);
  }
  const nondet = results.rows.filter((r) => r.deterministic === false).map((r) => r.name);
  if (nondet.length) out.push(`  runs of ${nondet.join(', ')} did not all give the same cost and accuracy`);
  out.push('');
  out.push(`total ${totalS.toFixed(0)} s`);
  const errors = [...results.errors, ...pageErrors];
  if (errors.length) {
    out.push('');
    out.push('ERRORS:');
    for (const e of errors) out.push(`  ${e}`);
  }
  console.log(out.join('\n'));
  return errors.length ? 1 : 0;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`browser-bench: ${e.stack ?? e}`);
    process.exit(1);
  },
);
