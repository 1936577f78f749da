// The pretrained backbone (EfficientNet-Lite0, data/backbone.safetensors, 4.7 MB): fetched only
// when something needs it (a photo given with no model, or the pretrained model chosen), never
// at page load, with a progress bar; then kept in IndexedDB (filestore.js) so that a second
// visit and offline use need no network; and handed to the worker ('load-backbone').
// A cached copy the worker refuses is deleted and fetched again; a downloaded file it refuses
// is said so, and the other models are untouched.

import { $ } from './helpers.js';
import { REQUEST, KindError } from './protocol.js';
import { getFile, putFile, deleteFile } from './filestore.js';

export const BACKBONE_URL = './data/backbone.safetensors';
/** The file format's version (see the Rust `backbone::load`): part of the cache key. */
const FORMAT_VERSION = 1;
const CACHE_KEY = `backbone.safetensors@v${FORMAT_VERSION}`;

/**
 * What the worker said of the backbone it loaded (protocol.js, BackboneLoadedReply).
 * @typedef {Object} BackboneInfo
 * @property {string} sha256
 * @property {number} bytes
 * @property {'cache'|'network'} from
 */

const megabytes = (n) => `${(n / 1e6).toFixed(1)} MB`;

/**
 * `app`: {call, worker()} of client.js. Returns {ensure(): Promise<BackboneInfo>, info()}:
 * ensure() loads the backbone into the current worker once (again after a restart); concurrent
 * calls share one download.
 */
export function createBackbone({ call, worker }) {
  const el = { row: $('backbone-row'), bar: $('backbone-progress'), text: $('backbone-text') };
  let loaded = null; // {worker, info}
  let pending = null;

  function show(text, value, max) {
    el.row.hidden = false;
    el.text.textContent = text;
    if (value === undefined) el.bar.removeAttribute('value');
    else {
      el.bar.max = max;
      el.bar.value = value;
    }
  }

  async function download() {
    show('Downloading the pretrained network…');
    let response;
    try {
      response = await fetch(BACKBONE_URL);
    } catch (e) {
      throw new KindError('io', `The pretrained network (${BACKBONE_URL.slice(2)}) could not be downloaded ` +
        `(${e.message}).`);
    }
    if (!response.ok) {
      throw new KindError('io', `The pretrained network (${BACKBONE_URL.slice(2)}) could not be downloaded: ` +
        `the server answered ${response.status}${response.status === 404 ? ' (run ./build.sh to make it)' : ''}.`);
    }
    const total = Number(response.headers.get('content-length')) || 0;
    const reader = response.body.getReader();
    const bytes = new Uint8Array(total || 0);
    let chunks = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total && received + value.length <= total) bytes.set(value, received);
      else chunks.push(value);
      received += value.length;
      show(`Downloading the pretrained network: ${megabytes(received)}` + (total ? ` of ${megabytes(total)}` : '') + '…',
        received, total || received);
    }
    if (total && received === total) return bytes.buffer;
    // No (or a wrong) length: put the pieces together.
    if (total) chunks = [bytes.subarray(0, Math.min(received, total)), ...chunks];
    const whole = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) {
      whole.set(c, at);
      at += c.length;
    }
    return whole.buffer;
  }

  /** Gives the worker a copy of `bytes` (the original stays here, e.g. to be cached). */
  async function send(bytes, from) {
    const copy = bytes.slice(0);
    const reply = await call(REQUEST.LOAD_BACKBONE, { bytes: copy }, [copy]).reply;
    return { sha256: reply.sha256, bytes: reply.bytes, from };
  }

  async function load() {
    const cached = await getFile(CACHE_KEY).catch(() => null);
    if (cached) {
      try {
        return await send(cached, 'cache');
      } catch (e) {
        if (e.kind !== 'model') throw e;
        // A damaged or outdated copy: forget it and fetch the file again.
        await deleteFile(CACHE_KEY).catch(() => {});
      }
    }
    const bytes = await download();
    show(`Checking the pretrained network (${megabytes(bytes.byteLength)})…`);
    let info;
    try {
      info = await send(bytes, 'network');
    } catch (e) {
      if (e.kind !== 'model') throw e;
      throw new KindError('model', `The pretrained network downloaded from ${BACKBONE_URL.slice(2)} is not usable: ` +
        `${e.message}.`);
    }
    // Kept only once the worker has accepted it; a full disk only costs the next visit a download.
    await putFile(CACHE_KEY, bytes).catch((e) => console.warn(`the pretrained network is not kept: ${e.message}`));
    return info;
  }

  return {
    ensure() {
      if (loaded && loaded.worker === worker()) return Promise.resolve(loaded.info);
      if (!pending) {
        const w = worker();
        pending = load().then((info) => {
          loaded = { worker: w, info };
          show(`Pretrained network ready (${megabytes(info.bytes)}, ${info.from === 'cache' ? 'kept in this browser' : 'downloaded'}, ` +
            `sha256 ${info.sha256.slice(0, 12)}…).`, 1, 1);
          return info;
        }, (e) => {
          show(`The pretrained network is not available: ${e.message}`, 0, 1);
          throw e;
        }).finally(() => { pending = null; });
      }
      return pending;
    },
    /** The loaded backbone's info, or null. */
    info: () => loaded?.info ?? null,
  };
}
