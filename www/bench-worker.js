// One benchmark job per worker: the page (bench.js) starts a fresh module worker for every run,
// so the WebAssembly memory of each run starts clean. The worker loads the wasm module and the
// dataset first (untimed), then times only the work with performance.now().
//
// Request: one message {job}. Reply: {type: 'result', ...} or {type: 'error', message}.
// job.kind:
//   'train'    {params, wantModel}: new WasmTrainer + step(all iterations) + finish, timed.
//   'classify' {jpeg: ArrayBuffer, modelBytes: ArrayBuffer|null}: model.classify(jpeg, 'crop'),
//              timed (without model bytes, a logistic regression is trained first, untimed).
//   'makejpeg' {width, height, quality}: a photo-like JPEG drawn on an OffscreenCanvas (no wasm).

import { loadWasm, whole } from './wasm-load.js';
import { messageOf as message } from './helpers.js';

const MB = 1024 * 1024;
let wasm = null;
let memory = null;
let dataset = null;

const memMB = () => memory.buffer.byteLength / MB;

async function load() {
  const t0 = performance.now();
  ({ wasm, memory, dataset } = await loadWasm());
  if (!dataset) throw new Error('the benchmark needs the classic set: ./build.sh --data DIR');
  return performance.now() - t0;
}

function train(job) {
  const memBeforeMB = memMB();
  const t0 = performance.now();
  const trainer = new wasm.WasmTrainer(dataset, job.params);
  const t1 = performance.now();
  const stageMs = {};
  let report;
  if (job.params.model === 'features') {
    // Steps of ~50 M multiply-adds, as the app's worker takes them, each timed and counted
    // to the stage it started in.
    let stage = 'patches';
    do {
      const s0 = performance.now();
      report = trainer.step(50);
      stageMs[stage] = (stageMs[stage] ?? 0) + performance.now() - s0;
      stage = report.stage;
    } while (!report.finished);
  } else {
    // The iterations the core planned (its defaults fill what the job leaves out).
    report = trainer.step(trainer.step(0).iterations);
  }
  const t2 = performance.now();
  const model = trainer.finish(dataset, '');
  const t3 = performance.now();
  const memAfterMB = memMB();
  if (!report.finished) throw new Error(`training stopped after ${report.done} of ${report.iterations} iterations`);
  const info = model.info();
  const result = {
    ms: t3 - t0,
    phases: { constructMs: t1 - t0, stepMs: t2 - t1, finishMs: t3 - t2, stageMs },
    memBeforeMB,
    memMB: memAfterMB,
    iterations: info.receipt.iterations_run,
    finalCost: info.receipt.final_cost,
    trainAccuracy: info.receipt.train_accuracy,
    testAccuracy: info.receipt.test_accuracy,
  };
  const transfer = [];
  if (job.wantModel) {
    result.modelBytes = whole(model.to_bytes()).buffer;
    transfer.push(result.modelBytes);
  }
  return [result, transfer];
}

function classify(job) {
  let model;
  if (job.modelBytes) {
    model = wasm.WasmModel.from_bytes(new Uint8Array(job.modelBytes));
  } else {
    const trainer = new wasm.WasmTrainer(dataset, { model: 'lr' });
    trainer.step(trainer.step(0).iterations);
    model = trainer.finish(dataset, '');
  }
  const bytes = new Uint8Array(job.jpeg);
  const memBeforeMB = memMB();
  const t0 = performance.now();
  const r = model.classify(bytes, 'crop');
  const t1 = performance.now();
  return [{
    ms: t1 - t0,
    memBeforeMB,
    memMB: memMB(),
    probability: r.probability,
    label: r.label,
    width: r.width,
    height: r.height,
    format: r.format,
    jpegBytes: bytes.byteLength,
  }, []];
}

// A small seeded generator, so every benchmark classifies the same picture.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A photo-like picture: gradients, soft blobs, shapes, fine texture and sensor noise. */
async function makeJpeg({ width, height, quality, noise = 10, seed = 12345 }) {
  const t0 = performance.now();
  const rand = mulberry32(seed);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const hsl = (h, s, l, a = 1) => `hsla(${h}, ${s}%, ${l}%, ${a})`;

  // Sky and ground.
  const sky = ctx.createLinearGradient(0, 0, 0, height * 0.6);
  sky.addColorStop(0, hsl(210, 60, 45));
  sky.addColorStop(1, hsl(200, 50, 85));
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, width, height * 0.6);
  const ground = ctx.createLinearGradient(0, height * 0.6, 0, height);
  ground.addColorStop(0, hsl(95, 35, 45));
  ground.addColorStop(1, hsl(30, 40, 22));
  ctx.fillStyle = ground;
  ctx.fillRect(0, height * 0.6, width, height * 0.4);

  // Soft blobs (clouds, bushes, light).
  for (let i = 0; i < 120; i++) {
    const x = rand() * width;
    const y = rand() * height;
    const r = 50 + rand() * 600;
    const g = ctx.createRadialGradient(x, y, 0, x, y, r);
    g.addColorStop(0, hsl(rand() * 360, 20 + rand() * 60, 20 + rand() * 70, 0.2 + rand() * 0.6));
    g.addColorStop(1, hsl(rand() * 360, 30, 50, 0));
    ctx.fillStyle = g;
    ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
  }
  // Objects with edges.
  for (let i = 0; i < 400; i++) {
    ctx.fillStyle = hsl(rand() * 360, 10 + rand() * 70, 10 + rand() * 80, 0.3 + rand() * 0.7);
    const x = rand() * width;
    const y = rand() * height;
    const s = 10 + rand() * 300;
    ctx.beginPath();
    if (rand() < 0.5) ctx.ellipse(x, y, s, s * (0.3 + rand()), rand() * Math.PI, 0, 2 * Math.PI);
    else ctx.rect(x, y, s * (0.5 + rand()), s * (0.5 + rand()));
    ctx.fill();
  }
  // Grass and twigs: many thin strokes.
  for (let i = 0; i < 6000; i++) {
    const x = rand() * width;
    const y = height * (0.5 + rand() * 0.5);
    ctx.strokeStyle = hsl(60 + rand() * 60, 30 + rand() * 40, 15 + rand() * 50, 0.5);
    ctx.lineWidth = 1 + rand() * 3;
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + (rand() - 0.5) * 40, y - 20 - rand() * 120);
    ctx.stroke();
  }
  // Sensor noise, row band by row band (keeps the ImageData small).
  const band = 250;
  for (let y0 = 0; y0 < height; y0 += band) {
    const h = Math.min(band, height - y0);
    const img = ctx.getImageData(0, y0, width, h);
    const d = img.data;
    for (let i = 0; i < d.length; i += 4) {
      const common = (rand() - 0.5) * noise;
      d[i] += common + (rand() - 0.5) * noise * 0.5;
      d[i + 1] += common + (rand() - 0.5) * noise * 0.5;
      d[i + 2] += common + (rand() - 0.5) * noise * 0.5;
    }
    ctx.putImageData(img, 0, y0);
  }
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
  const buffer = await blob.arrayBuffer();
  return [{ ms: performance.now() - t0, jpeg: buffer, jpegBytes: buffer.byteLength, width, height, quality }, [buffer]];
}

async function run(job) {
  if (job.kind === 'makejpeg') return makeJpeg(job);
  const loadMs = await load();
  const work = job.kind === 'train' ? train : job.kind === 'classify' ? classify : null;
  if (!work) throw new Error(`unknown job kind ${JSON.stringify(job.kind)}`);
  // The fast rows take ~0.1 s: the first run in a fresh worker also pays for V8's tier-up from
  // baseline to optimised wasm code and for growing the memory. Time it apart ("cold"), then
  // time a second run in the same worker, as a page that trains again would. The slow rows
  // run for seconds, so their warm-up is negligible and they run once.
  let coldMs = null;
  if (job.warmup) {
    const [cold] = work({ ...job, wantModel: false });
    coldMs = cold.ms;
  }
  const out = work(job);
  out[0].loadMs = loadMs;
  out[0].coldMs = coldMs;
  return out;
}

self.addEventListener('message', async (event) => {
  try {
    const [result, transfer] = await run(event.data);
    self.postMessage({ type: 'result', ...result }, transfer);
  } catch (e) {
    self.postMessage({ type: 'error', message: message(e) });
  }
}, { once: true });

self.addEventListener('unhandledrejection', (event) => {
  self.postMessage({ type: 'error', message: message(event.reason) });
});
