// The page's composition root: it creates the page's parts and wires them together. The page's
// thread only draws and forwards: the WebAssembly module, the dataset, training and photo
// decoding all live in worker.js, so nothing here runs long enough to freeze the page.
//
// status.js    the status line, the message area, announcements, where errors show
// client.js    requests to the worker and their replies (on supervisor.js, which restarts it)
// dataset.js   the built-in dataset's summary and samples
// training.js  the training panel and its progress      chart.js  the cost chart
// cards.js     photo cards and the classify queue        input.js  file picker, drop, paste
// backbone.js  the pretrained network: fetched when needed, kept in IndexedDB, sent to the worker
// saved.js     saved models                              inspect.js  what the model learnt
// owndata.js   your own dataset                          offline.js  the service worker
// folder.js    a whole folder classified, its results exported as CSV
// webcam.js    the camera: frames recorded into a class, the live preview
// project.js   a project file: the dataset and the model in use, exported and opened together
// support.js   what this browser lacks (wasm SIMD, module workers, a folder picker), in words

import { createStatus } from './status.js';
import { createClient } from './client.js';
import { createChart } from './chart.js';
import { createTraining } from './training.js';
import { createCards } from './cards.js';
import { wireInput } from './input.js';
import { createBackbone } from './backbone.js';
import { showDataset } from './dataset.js';
import { initSaved, kindName } from './saved.js';
import { initInspect } from './inspect.js';
import { initOwnData } from './owndata.js';
import { initProject } from './project.js';
import { createFolder } from './folder.js';
import { createWebcam } from './webcam.js';
import { TEST_MODE } from './protocol.js';
import { markFolderPickers } from './support.js';
import './offline.js';

const status = createStatus();
// Before the own-dataset zones are made from their template.
markFolderPickers();
// Whether the server has the classic set (a clone may be built without its files).
let hasBuiltin = false;

// The worker starts now; its messages arrive in later tasks, once everything below is wired.
const client = createClient({
  onReady(msg) {
    showDataset(msg);
    hasBuiltin = Boolean(msg.summary);
    training.setSummary(msg.summary);
    training.setPresets(msg.presets);
    training.ready();
    chart.draw();
    // Photos given meanwhile wait for the saved model, if there is one.
    saved.start((runs) => chart.setRuns(runs)).finally(() => cards.settle());
  },
  onProgress: (p) => training.onProgress(p),
  // A failure at start-up, or one no request owns: either way the page must say so.
  onError(e, { startup }) {
    status.set('error');
    status.showError(startup ? `The classifier could not start: ${e.message}` : e.message);
    if (startup) cards.cannotStart(/[.!?]$/.test(e.message) ? e.message : `${e.message}.`);
  },
  // The worker died after starting: a new one is already starting with the current model;
  // cards and training results stay as they are.
  onCrash({ reason, restarted, restoring }) {
    status.showError(`The classifier stopped unexpectedly (${reason}). ` + (restarted
      ? `It has been restarted${restoring ? ' with your current model' : ''}; your results are kept.`
      : 'It crashed too often to restart: reload the page.'));
    if (!restarted) status.set('error');
    status.announce('The classifier stopped unexpectedly and was restarted.');
  },
  // Only a worker script that cannot even be loaded or parsed ends up here: everything else is
  // reported as a message by the worker itself.
  onStartFailure(text) {
    status.set('error');
    status.showError(`The classifier could not start: ${text}.`);
    cards.cannotStart(`${text}.`);
  },
  // A restarted worker given back a pretrained-feature model needs the backbone first.
  ensureBackbone: () => backbone.ensure(),
});
const { call } = client;
// For the browser tests of recovery and memory, in test mode only (see protocol.js).
if (TEST_MODE) window.__purrceptron = { worker: client.worker, call: (type, payload) => call(type, payload).reply };

const chart = createChart({
  placeholder: () => (training.isFeatures()
    ? 'The feature models have no cost curve: their stages show above.'
    : training.isTraining() ? 'Waiting for the first cost…' : 'The cost curve appears here while training.'),
});

const training = createTraining({
  call,
  status,
  chart,
  onStarted() {
    saved.trainingStarted();
    cards.release();
    folder.stop();
  },
  ensureBackbone: () => backbone.ensure(),
  onTrained(info) {
    client.keepModel();
    keepTrained(info).catch((e) => status.showError(e.message));
  },
  onEnded: () => cards.release(),
});

// Never fetched at load: only for a photo given with no model, or when the pretrained model is
// chosen.
const backbone = createBackbone({ call, worker: client.worker });
document.getElementById('model').addEventListener('change', (event) => {
  if (/pretrained/.test(event.target.value)) backbone.ensure().catch((e) => status.showError(e.message));
});

const cards = createCards({
  call, status, hasModel: training.hasModel, isTraining: training.isTraining, backbone,
  trainDefault: () => training.trainDefault(),
  canTrain: () => training.hasDataset(),
});
const folder = createFolder({ call, status, hasModel: training.hasModel });
wireInput(cards.add, folder.run);

const inspector = initInspect({ call, status, hasDataset: () => training.hasDataset() });

// A name the page made up already starts with the kind; a name from a file or a rename may not.
const modelTitle = (name, info) => (name.startsWith(kindName(info)) ? name : `${name} — ${kindName(info)}`);

const saved = initSaved({
  call,
  status,
  isTraining: training.isTraining,
  ensureBackbone: () => backbone.ensure(),
  // The worker's current model became a saved one (chosen, loaded from a file, restored).
  onChosen(record) {
    training.useModel();
    cards.release();
    status.set('trained', `Using the saved model “${record.name}”. Drop, paste or choose photos to classify them.`);
    inspector.show(modelTitle(record.name, record.info), record.info?.kind);
    // A restarted worker gets this model back.
    client.keepModel();
  },
});

async function keepTrained(info) {
  const record = await saved.trained(info);
  inspector.show(record ? modelTitle(record.name, info) : kindName(info), info?.kind);
}

status.set('loading');
const webcam = createWebcam({ call, status });
const ownData = initOwnData({
  call, status, onDataset: (summary) => training.setSummary(summary), hasBuiltin: () => hasBuiltin, webcam,
});
initProject({ call, status, ownData, saved });
