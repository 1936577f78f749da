// One run of the backbone benchmark (bench-backbone.js starts a fresh module worker for each):
// loads the wasm module, the dataset and the backbone (untimed), then calls the module's
// bench_backbone, which times each pass and each layer, then a pretrained-feature training and
// head-only retrainings, with this worker's performance.now().
//
// Request: {passes, minMs, retrains, jpeg?: ArrayBuffer} (the photo the model trained classifies). Reply: {type: 'result', loadMs, report} or {type: 'error', message}.

import { loadWasm } from './wasm-load.js';
import { messageOf as message } from './helpers.js';

const BACKBONE_URL = './data/backbone.safetensors';

self.addEventListener('message', async (event) => {
  try {
    const t0 = performance.now();
    const { wasm, dataset } = await loadWasm();
    if (!dataset) throw new Error('the benchmark needs the classic set: ./build.sh --data DIR');
    const response = await fetch(BACKBONE_URL);
    if (!response.ok) throw new Error(`cannot load ${BACKBONE_URL}: HTTP ${response.status}`);
    const backbone = new Uint8Array(await response.arrayBuffer());
    const loadMs = performance.now() - t0;
    const { passes, minMs, retrains, jpeg } = event.data;
    const photo = jpeg ? new Uint8Array(jpeg) : undefined;
    const report = wasm.bench_backbone(backbone, dataset, passes, minMs, retrains, photo, () => performance.now());
    self.postMessage({ type: 'result', loadMs, report });
  } catch (e) {
    self.postMessage({ type: 'error', message: message(e) });
  }
}, { once: true });
