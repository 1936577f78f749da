// What the workers (worker.js, owndata-worker.js, bench-worker.js) share: loading the
// WebAssembly module and the built-in dataset, and taking bytes out of wasm for a transfer.

import { KindError } from './protocol.js';
import { wasmProblem } from './support.js';

const DATASET_URL = './data/catvnoncat.safetensors';

/**
 * Loads the module and the built-in dataset: {wasm (the module's exports), memory (its
 * WebAssembly.Memory), dataset (a WasmDataset, or null when the server has none: a clone
 * built without the classic set's files)}. Fails with kind `io` when the module is missing or
 * the dataset cannot be fetched for another reason, with `internal` when this browser cannot
 * run the module at all (support.js says what it lacks).
 */
export async function loadWasm() {
  // Checked before the module is fetched: an engine without SIMD would only fail to compile it,
  // with an error that names an opcode, not what to do.
  const problem = wasmProblem();
  if (problem) throw new KindError('internal', `${problem}.`);
  let wasm;
  let exports;
  try {
    // A dynamic import (not a static one) so that a missing or broken module becomes an error
    // message the page can show, instead of a bare worker 'error' event with no text.
    wasm = await import('./pkg/purrceptron.js');
    // The `--target web` init resolves with the instance's exports, `memory` among them.
    exports = await wasm.default();
  } catch (e) {
    throw new KindError('io', e instanceof Error ? e.message : String(e));
  }
  if (!(exports.memory instanceof WebAssembly.Memory)) throw new KindError('internal', 'the wasm exports have no memory');
  const response = await fetch(DATASET_URL);
  // Everything but training on the classic set works without it (the page says how to add it).
  if (response.status === 404) return { wasm, memory: exports.memory, dataset: null };
  if (!response.ok) {
    throw new KindError('io', `cannot load the dataset (${DATASET_URL}): HTTP ${response.status}`);
  }
  const dataset = new wasm.WasmDataset(new Uint8Array(await response.arrayBuffer()));
  return { wasm, memory: exports.memory, dataset };
}

/**
 * A Uint8Array copied out of wasm memory normally spans its whole buffer; copy again only if it
 * does not, so that a transfer sends exactly its bytes.
 */
export const whole = (a) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());

/** The first images of a dataset (train split first), for the page to show. */
export function samplesOf(dataset, count = 24) {
  const summary = dataset.summary();
  const out = [];
  for (const split of ['train', 'test']) {
    const labels = dataset.labels(split);
    for (let index = 0; index < labels.length && out.length < count; index++) {
      out.push({ split, index, label: summary.classes[labels[index]], rgba: whole(dataset.image_rgba(split, index)) });
    }
  }
  return out;
}
