// The worker's side of "your own dataset": photos are preprocessed here, one message at a time,
// by the same Rust code as `purrceptron convert --images`, and only their 64x64 pixels are kept.
//
// The messages (dataset-add, -clear, -build, -use, -export, -load) are described in protocol.js.

import { REQUEST, REPLY, KindError } from './protocol.js';
import { whole, samplesOf } from './wasm-load.js';

let photos = null; // WasmPhotoSet, created on the first photo
let own = null; // WasmDataset built or loaded here

function replaceOwn(dataset) {
  if (own && own !== dataset) own.free();
  own = dataset;
}

/** The reply to a request that makes `dataset` the own dataset, in use from now on. */
function ownReply(type, id, dataset) {
  replaceOwn(dataset);
  const samples = samplesOf(own);
  return { reply: { type, id, summary: own.summary(), samples }, transfer: samples.map((s) => s.rgba.buffer), dataset: own };
}

/**
 * Answers one `dataset-*` request. `state` is {wasm, dataset, builtin, training}: the dataset
 * training uses now, the one the worker started with (null without the classic set) and
 * whether a training runs. Returns {reply, transfer, dataset}: `dataset`, when
 * present, is the one training must use from now on.
 */
export function handleDataset(msg, state) {
  const { wasm, builtin } = state;
  const { type, id } = msg;
  const switching = [REQUEST.DATASET_BUILD, REQUEST.DATASET_USE, REQUEST.DATASET_LOAD].includes(type);
  if (switching && state.training) {
    throw new KindError('state', 'a training is running on the current dataset: cancel it or let it finish first');
  }
  switch (type) {
    case REQUEST.DATASET_ADD: {
      photos ??= new wasm.WasmPhotoSet('crop');
      // Checked here: wasm-bindgen would wrap 256 to 0 on the way to a Rust u8.
      const classes = photos.classes().length;
      if (!Number.isInteger(msg.label) || msg.label < 0 || msg.label >= classes) {
        throw new KindError('parameter', `label ${JSON.stringify(msg.label)}: expected a class, 0 to ${classes - 1}`);
      }
      const name = String(msg.name ?? '');
      let reply;
      try {
        const p = photos.add(msg.label, name, new Uint8Array(msg.bytes));
        reply = { type: REPLY.DATASET_ADDED, id, name, label: msg.label, ok: true, width: p.width, height: p.height,
          format: p.format, counts: photos.class_counts() };
        return { reply, transfer: [] };
      } catch (e) {
        // A photo that cannot be decoded is counted (as the CLI counts it) and named to the page;
        // it is not a failed request.
        reply = { type: REPLY.DATASET_ADDED, id, name, label: msg.label, ok: false,
          error: e instanceof Error ? e.message : String(e), counts: photos.class_counts() };
        return { reply, transfer: [] };
      }
    }
    case REQUEST.DATASET_THUMBNAILS: {
      const none = { type: REPLY.DATASET_THUMBNAILS, id, label: msg.label, from: msg.from, names: [], rgba: new Uint8Array(0) };
      if (!photos) return { reply: none, transfer: [] };
      if (![msg.label, msg.from, msg.count].every((n) => Number.isInteger(n) && n >= 0) || msg.label > 255) {
        throw new KindError('internal', 'dataset-thumbnails needs a label, from and count (whole numbers)');
      }
      const t = photos.thumbnails(msg.label, msg.from, msg.count);
      const rgba = whole(t.rgba);
      return { reply: { ...none, names: t.names, rgba }, transfer: [rgba.buffer] };
    }
    case REQUEST.DATASET_CLEAR:
      if (photos) photos.clear();
      return { reply: { type: REPLY.DATASET_CLEARED, id, counts: photos ? photos.class_counts() : null }, transfer: [] };
    case REQUEST.DATASET_CLASSES: {
      photos ??= new wasm.WasmPhotoSet('crop');
      const from = Array.isArray(msg.from) && msg.from.every(Number.isInteger) ? Int32Array.from(msg.from) : null;
      if (!Array.isArray(msg.names) || !from) throw new KindError('internal', 'dataset-classes needs names and from');
      photos.set_classes(msg.names.map(String), from);
      return { reply: { type: REPLY.DATASET_CLASSES_SET, id, classes: photos.classes(), counts: photos.class_counts() }, transfer: [] };
    }
    case REQUEST.DATASET_BUILD:
      if (!photos) throw new KindError('state', 'add photos of each class first');
      return ownReply(REPLY.DATASET_BUILT, id, photos.build(Number(msg.test_fraction), Number(msg.seed)));
    case REQUEST.DATASET_LOAD:
      return ownReply(REPLY.DATASET_LOADED, id, new wasm.WasmDataset(new Uint8Array(msg.bytes)));
    case REQUEST.DATASET_USE: {
      if (msg.which !== 'builtin' && msg.which !== 'own') {
        throw new KindError('parameter', `unknown dataset ${JSON.stringify(msg.which)} (expected builtin or own)`);
      }
      const dataset = msg.which === 'own' ? own : builtin;
      if (!dataset) {
        throw new KindError('state', msg.which === 'own' ? 'there is no dataset of your own yet: build or load one first'
          : 'the classic set is not on this server (the dataset panel says how to add it)');
      }
      return { reply: { type: REPLY.DATASET_USING, id, which: msg.which, summary: dataset.summary() }, transfer: [], dataset };
    }
    case REQUEST.DATASET_EXPORT: {
      if (!own) throw new KindError('state', 'there is no dataset of your own to export yet: build or load one first');
      const bytes = whole(own.to_bytes());
      return { reply: { type: REPLY.DATASET_EXPORTED, id, bytes }, transfer: [bytes.buffer] };
    }
    default:
      throw new KindError('internal', `unknown request type ${JSON.stringify(type)}`);
  }
}
