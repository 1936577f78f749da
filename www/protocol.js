// The protocol between the page and its worker (worker.js, owndata-worker.js), by postMessage.
//
// - A request is {type, id, ...}; `id` is a positive integer the page never reuses (the page's
//   client counts them from 1; the watchdog's pings take theirs from a counter of their own).
// - Every reply to a request carries that request's id. A training also sends `progress`
//   messages with its id before its reply.
// - Start-up is not a request: the worker sends `ready` (no id) once the module and the dataset
//   are loaded, or `startup-error` (no id) if they cannot be.
// - A failed request is answered with `error` {id, kind, message}. `id` is null only for a
//   failure no request owns (an exception outside any request). `fatal` (no id) says the
//   module trapped and the worker is closing; the page then starts a new one.
// - Byte buffers are transferred, never copied.
//
// Errors cross the boundary as {kind, message}; `kind` is one of ERROR_KINDS and says where the
// page shows the message (see status.js). A wasm export throws a JS Error whose `name` is its
// kind; the worker's own errors are thrown the same way (KindError).
//
// Test mode: the page opened with `?test` in its URL (index.html?test) starts its worker as
// worker.js?test. Only then does the page define `window.__purrceptron` and the worker answer
// `crash`, `memory` and `hold`; otherwise they are unknown requests. A query string changes nothing for
// the service worker (sw.js), which matches its cache ignoring the search part.
//
// The typedefs below are the one description of the messages (a Rust test compares them with
// the Rust side's serde types): one per request and one per reply, `type` first.

// ---- requests -----------------------------------------------------------------------------------

export const REQUEST = Object.freeze({
  TRAIN: 'train',
  CANCEL: 'cancel',
  CLASSIFY: 'classify',
  LOAD_MODEL: 'load-model',
  EXPORT_MODEL: 'export-model',
  RESULTS_CSV: 'results-csv',
  INSPECT: 'inspect',
  DATASET_ADD: 'dataset-add',
  DATASET_THUMBNAILS: 'dataset-thumbnails',
  DATASET_CLEAR: 'dataset-clear',
  DATASET_CLASSES: 'dataset-classes',
  DATASET_BUILD: 'dataset-build',
  DATASET_USE: 'dataset-use',
  DATASET_EXPORT: 'dataset-export',
  DATASET_LOAD: 'dataset-load',
  PROJECT_EXPORT: 'project-export',
  PROJECT_OPEN: 'project-open',
  LOAD_BACKBONE: 'load-backbone',
  PING: 'ping',
  MEMORY: 'memory',
  CRASH: 'crash',
  HOLD: 'hold',
});

// Trains a model on the current dataset; `params` are the trainer's (WasmTrainer::new).
/**
 * @typedef {Object} TrainRequest
 * @property {'train'} type
 * @property {number} id
 * @property {Object} params
 */

// Stops the running training at its next step (harmless when none runs).
/**
 * @typedef {Object} CancelRequest
 * @property {'cancel'} type
 * @property {number} id
 */

// Classifies a photo file's bytes with the current model.
/**
 * @typedef {Object} ClassifyRequest
 * @property {'classify'} type
 * @property {number} id
 * @property {ArrayBuffer} bytes
 * @property {string} name
 */

// Makes a model file's bytes the current model.
/**
 * @typedef {Object} LoadModelRequest
 * @property {'load-model'} type
 * @property {number} id
 * @property {ArrayBuffer} bytes
 */

// Asks for the current model's file bytes.
/**
 * @typedef {Object} ExportModelRequest
 * @property {'export-model'} type
 * @property {number} id
 */

// Asks for the CSV of a folder's results: `classes` the model's class names, `rows` each photo's
// {file, label, probabilities (one per class)} or {file, error}, in any order.
/**
 * @typedef {Object} ResultsCsvRequest
 * @property {'results-csv'} type
 * @property {number} id
 * @property {Array<string>} classes
 * @property {Array<Object>} rows
 */

// Asks how the current model does on the test split.
/**
 * @typedef {Object} InspectRequest
 * @property {'inspect'} type
 * @property {number} id
 */

// One photo for the own dataset; `label` is its class's (0 non-cat and 1 cat until the classes
// change).
/**
 * @typedef {Object} DatasetAddRequest
 * @property {'dataset-add'} type
 * @property {number} id
 * @property {number} label
 * @property {string} name
 * @property {ArrayBuffer} bytes
 */

// Asks for the 64x64 images of class `label`'s decoded photos numbered `from..from + count`
// (in the order they were added): the page draws the ones in view.
/**
 * @typedef {Object} DatasetThumbnailsRequest
 * @property {'dataset-thumbnails'} type
 * @property {number} id
 * @property {number} label
 * @property {number} from
 * @property {number} count
 */

// Forgets the photos added so far.
/**
 * @typedef {Object} DatasetClearRequest
 * @property {'dataset-clear'} type
 * @property {number} id
 */

// The own dataset's classes change: class `i` is named `names[i]` and keeps the photos of the
// old class `from[i]`, or starts empty (-1); an old class no new one takes is removed.
/**
 * @typedef {Object} DatasetClassesRequest
 * @property {'dataset-classes'} type
 * @property {number} id
 * @property {Array<string>} names
 * @property {Array<number>} from
 */

// Splits the photos added into a dataset (seeded), which training then uses.
/**
 * @typedef {Object} DatasetBuildRequest
 * @property {'dataset-build'} type
 * @property {number} id
 * @property {number} test_fraction
 * @property {number} seed
 */

// Chooses the dataset training uses: `which` is 'builtin' or 'own'.
/**
 * @typedef {Object} DatasetUseRequest
 * @property {'dataset-use'} type
 * @property {number} id
 * @property {string} which
 */

// Asks for the own dataset's file bytes.
/**
 * @typedef {Object} DatasetExportRequest
 * @property {'dataset-export'} type
 * @property {number} id
 */

// Makes a dataset file's bytes the own dataset, which training then uses.
/**
 * @typedef {Object} DatasetLoadRequest
 * @property {'dataset-load'} type
 * @property {number} id
 * @property {ArrayBuffer} bytes
 */

// Asks for a project file of the dataset in use and the model in use, if any.
/**
 * @typedef {Object} ProjectExportRequest
 * @property {'project-export'} type
 * @property {number} id
 */

// Reads a project file into its parts: the page then loads the dataset and the model as it
// loads their own files.
/**
 * @typedef {Object} ProjectOpenRequest
 * @property {'project-open'} type
 * @property {number} id
 * @property {ArrayBuffer} bytes
 */

// Loads the pretrained backbone from its file's bytes (data/backbone.safetensors, fetched and
// kept by the page: see backbone.js). Photos given while there is no model are then classified
// by it and ImageNet's cat classes.
/**
 * @typedef {Object} LoadBackboneRequest
 * @property {'load-backbone'} type
 * @property {number} id
 * @property {ArrayBuffer} bytes
 */

// The watchdog's question: answered at once, even during start-up.
/**
 * @typedef {Object} PingRequest
 * @property {'ping'} type
 * @property {number} id
 */

// Test mode only: the size of the WebAssembly memory.
/**
 * @typedef {Object} MemoryRequest
 * @property {'memory'} type
 * @property {number} id
 */

// Test mode only: the worker throws an exception nobody catches, as a bug would.
/**
 * @typedef {Object} CrashRequest
 * @property {'crash'} type
 * @property {number} id
 */

// Test mode only: from now on a training pauses when it reaches this stage ('extracting',
// 'fitting') until it is cancelled or released (stage null), so a test acts inside a stage
// however fast it runs.
/**
 * @typedef {Object} HoldRequest
 * @property {'hold'} type
 * @property {number} id
 * @property {string|null} stage
 */

/**
 * @typedef {TrainRequest|CancelRequest|ClassifyRequest|LoadModelRequest|ExportModelRequest|ResultsCsvRequest|InspectRequest|DatasetAddRequest|DatasetThumbnailsRequest|DatasetClearRequest|DatasetClassesRequest|DatasetBuildRequest|DatasetUseRequest|DatasetExportRequest|DatasetLoadRequest|ProjectExportRequest|ProjectOpenRequest|LoadBackboneRequest|PingRequest|MemoryRequest|CrashRequest|HoldRequest} Request
 */

// ---- replies ------------------------------------------------------------------------------------

export const REPLY = Object.freeze({
  READY: 'ready',
  STARTUP_ERROR: 'startup-error',
  PROGRESS: 'progress',
  TRAINED: 'trained',
  CANCELLING: 'cancelling',
  CLASSIFIED: 'classified',
  MODEL_LOADED: 'model-loaded',
  MODEL_BYTES: 'model-bytes',
  RESULTS_CSV: 'results-csv',
  INSPECTION: 'inspection',
  DATASET_ADDED: 'dataset-added',
  DATASET_THUMBNAILS: 'dataset-thumbnails',
  DATASET_CLEARED: 'dataset-cleared',
  DATASET_CLASSES_SET: 'dataset-classes-set',
  DATASET_BUILT: 'dataset-built',
  DATASET_USING: 'dataset-using',
  DATASET_EXPORTED: 'dataset-exported',
  DATASET_LOADED: 'dataset-loaded',
  PROJECT_EXPORTED: 'project-exported',
  PROJECT_OPENED: 'project-opened',
  BACKBONE_LOADED: 'backbone-loaded',
  PONG: 'pong',
  MEMORY: 'memory',
  HELD: 'held',
  ERROR: 'error',
  FATAL: 'fatal',
});

// Start-up finished: the built-in dataset's summary and its first images (64x64 RGBA); a
// null summary and no images when the server has no built-in dataset.
/**
 * @typedef {Object} ReadyReply
 * @property {'ready'} type
 * @property {Object|null} summary
 * @property {Array} samples
 * @property {Array<Preset>} presets
 */

// A model choice with every default filled in, from the Rust core (model::presets): `spec` is
// {model: 'network', hidden, iterations, learning_rate, l2, seed, report_every, solver},
// {model: 'features', filters, patches, kmeans_iterations, seed} or
// {model: 'pretrained', side, seed, flip}; `expected_accuracy` is text such as '~98% on the test set'.
/**
 * @typedef {Object} Preset
 * @property {string} id
 * @property {string} name
 * @property {Object} spec
 * @property {boolean} custom_layers
 */

// Start-up failed (no pkg/, no dataset...): no request will succeed.
/**
 * @typedef {Object} StartupErrorReply
 * @property {'startup-error'} type
 * @property {string} kind
 * @property {string} message
 */

// A training's progress: `done` of `iterations` (for the learned-feature model, units of
// work, with `stage` and `stage_done` in [0, 1]); `cost` at `cost_iteration` when recorded.
/**
 * @typedef {Object} ProgressReply
 * @property {'progress'} type
 * @property {number} id
 * @property {number} done
 * @property {number} iterations
 * @property {number|null} cost
 * @property {number|null} cost_iteration
 * @property {string|null} stage
 * @property {number|null} stage_done
 * @property {number} elapsed
 */

// A training ended: finished or `stopped` early. `discarded`: stopped before a feature model
// (learned or pretrained) was complete, so nothing was kept and `info` is null. `features`
// (pretrained model only): 'extracted' this time, 'cached' (kept from an earlier training on
// the same dataset, backbone and side, so only the head was fitted), or 'mirrors' (kept, but for
// the training images' mirrors, which a training with `flip` extracted this time).
/**
 * @typedef {Object} TrainedReply
 * @property {'trained'} type
 * @property {number} id
 * @property {boolean} stopped
 * @property {boolean} [discarded]
 * @property {string} [features]
 * @property {number} done
 * @property {number} iterations
 * @property {Object|null} info
 * @property {number} seconds
 */

// A cancel was received; `running`: a training was running.
/**
 * @typedef {Object} CancellingReply
 * @property {'cancelling'} type
 * @property {number} id
 * @property {boolean} running
 */

// A photo classified: what classified it (`by`: 'model', the current model, or 'imagenet':
// no model yet, so the backbone and ImageNet's cat classes), `probability` (two classes: the
// second's, P(cat) in the classic set; more: the predicted class's), the label (the predicted
// class's name), every class's probability by name and the class names in label order, the
// file's size
// and format, and the side x side RGBA image the model saw (64 px for a model, 128 for the
// backbone). 'imagenet' adds the likeliest cat class (its name and own probability) and the
// heat map: heat_side x heat_side values, row-major, the class's logit from each region alone;
// a pretrained-feature model gives its own heat map (its head applied to each region) too.
/**
 * @typedef {Object} ClassifiedReply
 * @property {'classified'} type
 * @property {number} id
 * @property {string} name
 * @property {string} by
 * @property {number} probability
 * @property {string} label
 * @property {Object<string,number>} probabilities
 * @property {Array<string>} classes
 * @property {number} width
 * @property {number} height
 * @property {string} format
 * @property {number} side
 * @property {Uint8Array} seen_rgba
 * @property {string} [class_name]
 * @property {number} [class_probability]
 * @property {Array<number>} [heat]
 * @property {number} [heat_side]
 */

// The model file is now the current model; `info` describes it. With `needs_backbone` (the
// sha256 of the backbone a pretrained-feature model needs) it is not: the worker has no backbone
// yet, so the page loads it ('load-backbone') and sends the file again.
/**
 * @typedef {Object} ModelLoadedReply
 * @property {'model-loaded'} type
 * @property {number} id
 * @property {Object} info
 * @property {string} [needs_backbone]
 */

// The CSV file of a folder's results (the bytes `purrceptron predict --csv` writes).
/**
 * @typedef {Object} ResultsCsvReply
 * @property {'results-csv'} type
 * @property {number} id
 * @property {string} csv
 */

// The current model's file bytes.
/**
 * @typedef {Object} ModelBytesReply
 * @property {'model-bytes'} type
 * @property {number} id
 * @property {ArrayBuffer} bytes
 */

// The current model on the test split: its class names (index = label), each image's
// probability of each class (images x classes, row-major), the labels, the images (side x side
// RGBA each, one after the other) and, for networks on pixels, the first layer's weights as
// images of the same size (else null). A pretrained-feature model adds the heat maps of the test
// images it gets wrong: `heat_indices` (ascending), their heat_side x heat_side maps one after
// the other in `heat`.
/**
 * @typedef {Object} InspectionReply
 * @property {'inspection'} type
 * @property {number} id
 * @property {Object} evaluation
 * @property {Array<string>} classes
 * @property {Float64Array} probabilities
 * @property {Uint8Array} labels
 * @property {Uint8Array} images
 * @property {number} side
 * @property {ArrayBuffer|null} weights
 * @property {Array<number>} [heat]
 * @property {number} [heat_side]
 * @property {Array<number>} [heat_indices]
 */

// A photo for the own dataset was read (`ok`; its 64x64 image is drawn when it comes into view,
// see dataset-thumbnails) or could not be (`error`, counted as the CLI counts it); `counts` covers
// every photo added: {given, ok} by label.
/**
 * @typedef {Object} DatasetAddedReply
 * @property {'dataset-added'} type
 * @property {number} id
 * @property {string} name
 * @property {number} label
 * @property {boolean} ok
 * @property {number} [width]
 * @property {number} [height]
 * @property {string} [format]
 * @property {string} [error]
 * @property {Array<Object>} counts
 */

// The photos are forgotten; `counts` is null when none was ever added.
/**
 * @typedef {Object} DatasetClearedReply
 * @property {'dataset-cleared'} type
 * @property {number} id
 * @property {Array<Object>|null} counts
 */

// The own dataset's classes by label now, and each one's {given, ok} photos.
/**
 * @typedef {Object} DatasetClassesSetReply
 * @property {'dataset-classes-set'} type
 * @property {number} id
 * @property {Array<string>} classes
 * @property {Array<Object>} counts
 */

// The own dataset is built and in use.
/**
 * @typedef {Object} DatasetBuiltReply
 * @property {'dataset-built'} type
 * @property {number} id
 * @property {Object} summary
 * @property {Array} samples
 */

// Training now uses `which` ('builtin' or 'own').
/**
 * @typedef {Object} DatasetUsingReply
 * @property {'dataset-using'} type
 * @property {number} id
 * @property {string} which
 * @property {Object} summary
 */

// The own dataset's file bytes.
/**
 * @typedef {Object} DatasetExportedReply
 * @property {'dataset-exported'} type
 * @property {number} id
 * @property {Uint8Array} bytes
 */

// Class `label`'s decoded photos from `from`: names, and their 64x64 RGBA images one after the
// other (16,384 bytes each; fewer than asked past the last photo).
/**
 * @typedef {Object} DatasetThumbnailsReply
 * @property {'dataset-thumbnails'} type
 * @property {number} id
 * @property {number} label
 * @property {number} from
 * @property {Array<string>} names
 * @property {Uint8Array} rgba
 */

// A project file's bytes (`purrceptron pack` writes the same for the same parts).
/**
 * @typedef {Object} ProjectExportedReply
 * @property {'project-exported'} type
 * @property {number} id
 * @property {Uint8Array} bytes
 */

// A project file's parts: the dataset file's bytes, the model file's (absent without a model),
// the class names.
/**
 * @typedef {Object} ProjectOpenedReply
 * @property {'project-opened'} type
 * @property {number} id
 * @property {Uint8Array} dataset
 * @property {Uint8Array} [model]
 * @property {Array<string>} classes
 */

// The dataset file is loaded as the own dataset and in use.
/**
 * @typedef {Object} DatasetLoadedReply
 * @property {'dataset-loaded'} type
 * @property {number} id
 * @property {Object} summary
 * @property {Array} samples
 */

// The backbone is loaded: its identity (the file's sha256, hex) and the file's size in bytes.
/**
 * @typedef {Object} BackboneLoadedReply
 * @property {'backbone-loaded'} type
 * @property {number} id
 * @property {string} sha256
 * @property {number} bytes
 */

// The answer to a ping.
/**
 * @typedef {Object} PongReply
 * @property {'pong'} type
 * @property {number} id
 */

// Test mode only: the WebAssembly memory's size in bytes (its peak: it never shrinks).
/**
 * @typedef {Object} MemoryReply
 * @property {'memory'} type
 * @property {number} id
 * @property {number} wasm_bytes
 */

// Test mode only: the stage trainings now pause at (null: none).
/**
 * @typedef {Object} HeldReply
 * @property {'held'} type
 * @property {number} id
 * @property {string|null} stage
 */

// A request failed; `id` is null for a failure no request owns.
/**
 * @typedef {Object} ErrorReply
 * @property {'error'} type
 * @property {number|null} id
 * @property {string} kind
 * @property {string} message
 */

// The module trapped (a Rust panic, out of memory): the worker is closing.
/**
 * @typedef {Object} FatalReply
 * @property {'fatal'} type
 * @property {string} kind
 * @property {string} message
 */

/**
 * @typedef {ReadyReply|StartupErrorReply|ProgressReply|TrainedReply|CancellingReply|ClassifiedReply|ModelLoadedReply|ModelBytesReply|ResultsCsvReply|InspectionReply|DatasetAddedReply|DatasetThumbnailsReply|DatasetClearedReply|DatasetClassesSetReply|DatasetBuiltReply|DatasetUsingReply|DatasetExportedReply|DatasetLoadedReply|ProjectExportedReply|ProjectOpenedReply|BackboneLoadedReply|PongReply|MemoryReply|HeldReply|ErrorReply|FatalReply} Reply
 */

/**
 * The class predicted for image `i` from `probabilities` (images x `classes`, row-major): the
 * most probable, the first on a tie, as the Rust core predicts (two classes: the second when
 * its probability is > 0.5).
 */
export function predictedClass(probabilities, i, classes) {
  let best = 0;
  for (let k = 1; k < classes; k++) {
    if (probabilities[i * classes + k] > probabilities[i * classes + best]) best = k;
  }
  return best;
}

// ---- errors and test mode -------------------------------------------------------------------

/**
 * Where an error belongs: `parameter` (a value the user typed), `training` (a training that
 * failed, e.g. diverged), `dataset`, `model` (a model file), `photo`, `io` (a file or the
 * network), `state` (not possible now, e.g. no model yet) and `internal` (a bug).
 */
export const ERROR_KINDS = Object.freeze(['parameter', 'training', 'dataset', 'model', 'photo', 'io', 'state', 'internal']);

/** An error of a known kind: thrown by the worker's own code as the wasm exports throw theirs. */
export class KindError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = kind;
    this.kind = kind;
  }
}

/**
 * {kind, message} of anything thrown: the kind is the error's name when it is one of
 * ERROR_KINDS, else `internal` (a trap, a TypeError, a wasm error from before kinds).
 */
export function errorOf(e) {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof WebAssembly.RuntimeError) return { kind: 'internal', message };
  return { kind: ERROR_KINDS.includes(e?.name) ? e.name : 'internal', message };
}

/** Test mode: `?test` in the URL of this page or of this worker's script (see above). */
export const TEST_MODE = new URLSearchParams(self.location.search).has('test');
