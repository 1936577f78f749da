// Projects: the dataset in use and the model in use in one file, to keep or to move to another
// browser or to the command line (`purrceptron pack` writes the same bytes, `unpack` splits
// them). Opening one makes its dataset your own dataset, in use, and its model a saved model,
// in use. The worker reads and writes the file; each part is then loaded as its own file is.

import { $, formatCount, downloadBytes } from './helpers.js';
import { REQUEST } from './protocol.js';

/**
 * Wires the two project controls. `call` talks to the worker; `status` is status.js's;
 * `ownData.load(bytes, what)` (owndata.js) and `saved.load(bytes, name)` (saved.js) load a
 * dataset file's and a model file's bytes (and refuse, as for their own files, during a
 * training).
 */
export function initProject({ call, status, ownData, saved }) {
  const el = { exportButton: $('project-export'), open: $('project-open') };

  el.exportButton.addEventListener('click', async () => {
    status.clearError();
    el.exportButton.disabled = true;
    try {
      const r = await call(REQUEST.PROJECT_EXPORT).reply;
      downloadBytes(r.bytes, 'my-project.purrceptron', 1000);
      status.announce(`Project exported (${formatCount(r.bytes.byteLength)} bytes).`);
    } catch (e) {
      status.report(e, `Cannot export the project: ${e.message}`);
    } finally {
      el.exportButton.disabled = false;
    }
  });

  el.open.addEventListener('change', async () => {
    const file = el.open.files?.[0];
    // Choosing the same file again should open it again.
    el.open.value = '';
    if (!file) return;
    status.clearError();
    try {
      const bytes = await file.arrayBuffer();
      const r = await call(REQUEST.PROJECT_OPEN, { bytes }, [bytes]).reply;
      const name = file.name.replace(/\.purrceptron$/i, '');
      await ownData.load(r.dataset.buffer, `Opened ${file.name}`);
      if (r.model) await saved.load(r.model.buffer, name);
      status.announce(`Opened ${name}: ${r.classes.join(', ')}` + (r.model ? ', with its model in use.' : ' (no model yet).'));
    } catch (e) {
      status.report(e, `Cannot open ${file.name}: ${e.message}. Choose a project file (.purrceptron) exported from ` +
        'this page or written by `purrceptron pack`.');
    }
  });
}
