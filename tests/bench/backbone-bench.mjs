#!/usr/bin/env node
// The pretrained backbone's speed, in the browser and natively, side by side. Starts the real
// server, opens /bench-backbone.html in Debian's headless Chromium (playwright-core from
// tests/e2e, a fresh profile), which runs the wasm module in `runs` fresh workers (one core
// each, one after the other; each run ends with a pretrained-feature training from nothing and
// head-only retrainings); then runs the same code natively (target/release/examples/backbone_bench,
// one thread) and prints both. A benchmark: nothing is
// asserted; the exit code is non-zero only when a run fails.
//
//   node tests/bench/backbone-bench.mjs [runs=5] [passes=259]
//
// Needs `./build.sh build` (www/pkg, www/data with backbone.safetensors), `npm ci` in tests/e2e
// and `cargo build --release --example backbone_bench`.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { DATA, CHROMIUM, CHROMIUM_ARGS, ROOT, startServer } from '../e2e/helpers.js';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const arg = (i, fallback) => {
  const v = Number(process.argv[i] ?? fallback);
  if (!Number.isInteger(v) || v < 1) {
    console.error('usage: node tests/bench/backbone-bench.mjs [runs=5] [passes=259]');
    process.exit(2);
  }
  return v;
};
const runs = arg(2, 5);
const passes = arg(3, 259);
const BACKBONE = path.join(ROOT, 'www', 'data', 'backbone.safetensors');
const NATIVE = path.join(ROOT, 'target', 'release', 'examples', 'backbone_bench');

const sorted = (xs) => [...xs].sort((a, b) => a - b);
function median(xs) {
  const s = sorted(xs);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
const mmm = (xs) => (xs.length ? [Math.min(...xs), median(xs), Math.max(...xs)] : [NaN, NaN, NaN]);
const gflops = (madds, ms) => (2 * madds) / (ms * 1e6);

/** The figures of one run's report. */
function figures(report) {
  const ms = report.image_ms;
  const steady = median(ms.slice(Math.min(10, ms.length - 1)));
  const kind = (k) => report.layers.filter((l) => l.kind === k);
  const sum = (ls, f) => ls.reduce((a, l) => a + f(l), 0);
  const dw = kind('depthwise');
  const pw = kind('1x1');
  return {
    totalS: ms.reduce((a, b) => a + b, 0) / 1e3,
    firstMs: ms[0],
    imageMs: steady,
    passGflops: gflops(report.madds, steady),
    peak1x1: Math.max(...pw.map((l) => gflops(l.madds, l.ms))),
    all1x1: gflops(sum(pw, (l) => l.madds), sum(pw, (l) => l.ms)),
    allDw: gflops(sum(dw, (l) => l.madds), sum(dw, (l) => l.ms)),
    layersMs: sum(report.layers, (l) => l.ms),
    coldMs: report.training?.cold_ms ?? NaN,
    extractionMs: report.training?.extraction_ms ?? NaN,
    retrainMs: report.training?.retrain_ms?.length ? median(report.training.retrain_ms) : NaN,
    photoMs: report.training?.photo_ms?.length ? median(report.training.photo_ms) : NaN,
    photoP: report.training?.photo_probability ?? NaN,
  };
}

async function browser() {
  const server = await startServer();
  const profile = mkdtempSync(path.join(os.tmpdir(), 'purrceptron-backbone-bench-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: 30_000,
    });
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (m) => {
      if (m.text().startsWith('bench: ') || m.type() === 'error') process.stderr.write(`${m.text()}\n`);
    });
    await page.goto(`${server.url}bench-backbone.html?runs=${runs}&passes=${passes}&wait=1`, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.startBench === 'function');
    await new Promise((r) => setTimeout(r, 2000)); // the browser's own start-up work
    await page.evaluate(() => window.startBench());
    await page.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: 30 * 60_000, polling: 500 });
    const results = JSON.parse(await page.textContent('#results'));
    results.chromium = context.browser()?.version() ?? '?';
    return results;
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    await server.stop();
  }
}

// The same JPEG as the browser classified, from a temporary file.
function native(jpeg) {
  if (!existsSync(NATIVE)) return { error: `no ${NATIVE}: cargo build --release --example backbone_bench` };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'purrceptron-backbone-bench-jpeg-'));
  const photo = path.join(dir, 'photo.jpg');
  if (jpeg) writeFileSync(photo, Buffer.from(jpeg.base64, 'base64'));
  const r = spawnSync(NATIVE, ['--json', BACKBONE, DATA, String(passes), String(runs), ...(jpeg ? [photo] : [])],
    { encoding: 'utf8', maxBuffer: 1 << 26 });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) return { error: `backbone_bench failed: ${r.stderr}` };
  return { reports: JSON.parse(r.stdout) };
}

const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');

async function main() {
  const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' ');
  const loadBefore = load();
  const web = await browser();
  const nat = native(web.jpeg);
  const webReports = web.runs.map((r) => r.report);
  const natReports = nat.reports ?? [];
  const wf = webReports.map(figures);
  const nf = natReports.map(figures);
  const out = [];
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m) ?? [])[1] ?? '?';
  out.push('Pretrained backbone (EfficientNet-Lite0) speed, one core, input 128 px');
  out.push(`machine  ${os.availableParallelism()} CPUs, ${cpu}; load avg before ${loadBefore}, after ${load()}`);
  out.push(`browser  Chromium ${web.chromium} headless, wasm32 + simd128, a fresh worker per run; native: one thread`);
  out.push(`runs     ${runs}, each ${passes} passes over the dataset's images (64 px resized to 128), then every layer alone (>= 20 ms each),`);
  out.push('         then a pretrained-feature training (both splits extracted, the head fitted, the test accuracy), 5 head-only retrainings');
  const jpeg = web.jpeg ? `${web.jpeg.width}x${web.jpeg.height}, ${(web.jpeg.bytes / 1e6).toFixed(1)} MB` : 'none (not drawn)';
  out.push(`         and 5 classifications of a photo-like JPEG drawn by the browser (${jpeg}; the same file natively)`);
  if (webReports[0]) out.push(`work     ${(webReports[0].madds / 1e6).toFixed(1)} M multiply-adds a pass`);
  out.push('');
  const rows = [
    [`${passes} images, s (cold worker)`, (f) => f.totalS, 2],
    ['first image, ms (cold)', (f) => f.firstMs, 1],
    ['ms per image (steady median)', (f) => f.imageMs, 2],
    ['pass GFLOP/s', (f) => f.passGflops, 1],
    ['1x1 peak GFLOP/s (best layer)', (f) => f.peak1x1, 1],
    ['all 1x1 layers GFLOP/s', (f) => f.all1x1, 1],
    ['all depthwise GFLOP/s', (f) => f.allDw, 1],
    ['training from nothing, ms', (f) => f.coldMs, 0],
    ['  of which the extraction, ms', (f) => f.extractionMs, 0],
    ['head-only retraining, ms (run median)', (f) => f.retrainMs, 1],
    ['classify 12 MP JPEG + heat map, ms (run median)', (f) => f.photoMs, 1],
    ['  its P(cat)', (f) => f.photoP, 6],
  ];
  const head = ['figure (min / median / max over runs)', 'browser (wasm)', 'native'];
  const cell = (fs, f, d) => (fs.length ? mmm(fs.map(f)).map((v) => fmt(v, d)).join(' / ') : '-');
  const table = rows.map(([name, f, d]) => [name, cell(wf, f, d), cell(nf, f, d)]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  out.push(line(head));
  out.push(line(widths.map((w) => '-'.repeat(w))));
  for (const r of table) out.push(line(r));
  out.push('');
  out.push('layer (median ms over runs)       M madds   wasm ms  GFLOP/s  native ms  GFLOP/s');
  const layers = webReports[0]?.layers ?? natReports[0]?.layers ?? [];
  layers.forEach((l, i) => {
    const w = webReports.length ? median(webReports.map((r) => r.layers[i].ms)) : NaN;
    const n = natReports.length ? median(natReports.map((r) => r.layers[i].ms)) : NaN;
    out.push(`${l.name.padEnd(22)} ${l.kind.padEnd(9)} ${fmt(l.madds / 1e6, 2).padStart(8)} ${fmt(w, 3).padStart(9)} ` +
      `${fmt(gflops(l.madds, w)).padStart(8)} ${fmt(n, 3).padStart(10)} ${fmt(gflops(l.madds, n)).padStart(8)}`);
  });
  const sums = new Set([...webReports, ...natReports].map((r) => r.checksum ?? "(none)"));
  out.push('', `features of the first image: ${sums.size === 1 ? 'the same bits in the browser and natively' : 'DIFFERENT'} ` +
    `(sha256 ${[...sums].map((v) => v.slice(0, 16)).join(', ')})`);
  const errors = [...web.errors, ...(sums.size > 1 ? ['the browser and native features differ'] : []), ...(nat.error ? [nat.error] : [])];
  if (errors.length) out.push('', 'ERRORS:', ...errors.map((e) => `  ${e}`));
  console.log(out.join('\n'));
  return errors.length ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`backbone-bench: ${e.stack ?? e}`);
  process.exit(1);
});
