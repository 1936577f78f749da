// The worker's side of "your own dataset": photos are preprocessed here, one message at a time,
// by the same Rust code as `purrceptron convert --images`, and only their 64x64 pixels are kept.
//
// Requests (each answered with the same id, failures as {type: 'error', id, message}):
//   {type: 'dataset-add', label: 0|1, name, bytes}  -> {type: 'dataset-added', name, label, ok, ...}
//   {type: 'dataset-clear'}                         -> {type: 'dataset-cleared', counts}
//   {type: 'dataset-build', seed, test_fraction}    -> {type: 'dataset-built', summary, samples}
//   {type: 'dataset-use', which: 'builtin'|'own'}   -> {type: 'dataset-using', which, summary}
//   {type: 'dataset-export'}                        -> {type: 'dataset-exported', bytes} (transferred)
//   {type: 'dataset-load', bytes}                   -> {type: 'dataset-loaded', summary, samples}

const SAMPLE_COUNT = 24;

let photos = null; // WasmPhotoSet, created on the first photo
let own = null; // WasmDataset built or loaded here
let builtin = null; // the WasmDataset the worker started with

// Transferable copy of bytes that came out of wasm: normally already a whole buffer.
const whole = (u8) => (u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? u8 : u8.slice());

function samplesOf(dataset) {
  const summary = dataset.summary();
  const out = [];
  for (const split of ['train', 'test']) {
    const labels = dataset.labels(split);
    for (let index = 0; index < labels.length && out.length < SAMPLE_COUNT; index++) {
      out.push({ split, index, label: summary.classes[labels[index]], rgba: whole(dataset.image_rgba(split, index)) });
    }
  }
  return out;
}

function replaceOwn(dataset) {
  if (own && own !== dataset) own.free();
  own = dataset;
}

/**
 * Answers one `dataset-*` request. `state` is {wasm, dataset, training}: the dataset training
 * uses now and whether a training runs. Returns {reply, transfer, dataset}: `dataset`, when
 * present, is the one training must use from now on.
 */
export function handleDataset(msg, state) {
  const { wasm } = state;
  builtin ??= state.dataset;
  const { type, id } = msg;
  const switching = ['dataset-build', 'dataset-use', 'dataset-load'].includes(type);
  if (switching && state.training) {
    throw new Error('a training is running on the current dataset: cancel it or let it finish first');
  }
  switch (type) {
    case 'dataset-add': {
      // Checked here: wasm-bindgen would wrap 256 to 0 on the way to a Rust u8.
      if (msg.label !== 0 && msg.label !== 1) throw new Error(`label ${JSON.stringify(msg.label)}: expected 0 or 1`);
      photos ??= new wasm.WasmPhotoSet('crop');
      const name = String(msg.name ?? '');
      let reply;
      try {
        const p = photos.add(msg.label, name, new Uint8Array(msg.bytes));
        const rgba = whole(p.rgba);
        reply = { type: 'dataset-added', id, name, label: msg.label, ok: true, width: p.width, height: p.height,
          format: p.format, rgba, counts: photos.counts() };
        return { reply, transfer: [rgba.buffer] };
      } catch (e) {
        // A photo that cannot be decoded is counted (as the CLI counts it) and named to the page;
        // it is not a failed request.
        reply = { type: 'dataset-added', id, name, label: msg.label, ok: false,
          error: e instanceof Error ? e.message : String(e), counts: photos.counts() };
        return { reply, transfer: [] };
      }
    }
    case 'dataset-clear':
      if (photos) photos.clear();
      return { reply: { type: 'dataset-cleared', id, counts: photos ? photos.counts() : null }, transfer: [] };
    case 'dataset-build': {
      if (!photos) throw new Error('add photos of cats and of other things first');
      const built = photos.build(Number(msg.test_fraction), Number(msg.seed));
      replaceOwn(built);
      const samples = samplesOf(own);
      return {
        reply: { type: 'dataset-built', id, summary: own.summary(), samples },
        transfer: samples.map((s) => s.rgba.buffer),
        dataset: own,
      };
    }
    case 'dataset-load': {
      const loaded = new wasm.WasmDataset(new Uint8Array(msg.bytes));
      replaceOwn(loaded);
      const samples = samplesOf(own);
      return {
        reply: { type: 'dataset-loaded', id, summary: own.summary(), samples },
        transfer: samples.map((s) => s.rgba.buffer),
        dataset: own,
      };
    }
    case 'dataset-use': {
      if (msg.which !== 'builtin' && msg.which !== 'own') {
        throw new Error(`unknown dataset ${JSON.stringify(msg.which)} (expected builtin or own)`);
      }
      const dataset = msg.which === 'own' ? own : builtin;
      if (!dataset) throw new Error('there is no dataset of your own yet: build or load one first');
      return { reply: { type: 'dataset-using', id, which: msg.which, summary: dataset.summary() }, transfer: [], dataset };
    }
    case 'dataset-export': {
      if (!own) throw new Error('there is no dataset of your own to export yet: build or load one first');
      const bytes = whole(own.to_bytes());
      return { reply: { type: 'dataset-exported', id, bytes }, transfer: [bytes.buffer] };
    }
    default:
      throw new Error(`unknown request type ${JSON.stringify(type)}`);
  }
}
