// The page's side of the worker protocol (protocol.js): numbered requests, their pending
// replies, and the current model's bytes, which a restarted worker is given back. The worker's
// life (start, watchdog, restart) is supervisor.js's.

import { Supervisor } from './supervisor.js';
import { REQUEST, REPLY, TEST_MODE } from './protocol.js';

/** A failed request: `kind` (protocol.js's ERROR_KINDS) says where its message belongs. */
export class RequestError extends Error {
  constructor(kind, message, { crash = false } = {}) {
    super(message);
    this.kind = kind;
    // A request lost with a crashed worker: the crash itself has already been reported.
    this.crash = crash;
  }
}

/**
 * Starts the worker. `events`: {onReady(msg), onProgress(msg), onError(RequestError)} for the
 * messages no request waits for (start-up's, progress, failures no request owns);
 * onCrash({reason, restarted, restoring}) when the worker died after starting (a new one is
 * starting, with the current model if `restoring`); onStartFailure(text) when it could not start;
 * ensureBackbone() loads the pretrained network into the new worker when the model needs it.
 * Returns {call, keepModel, worker}.
 */
export function createClient({ onReady, onProgress, onError, onCrash, onStartFailure, ensureBackbone }) {
  const pending = new Map(); // id -> {resolve, reject}
  let nextId = 1;
  let modelBytes = null; // Uint8Array of the current model file, restored into a new worker

  const supervisor = new Supervisor(`./worker.js${TEST_MODE ? '?test' : ''}`, {
    onMessage: receive,
    onStart: restoreModel,
    onCrash: crashed,
    onStartFailure,
    isWaiting: () => pending.size > 0,
  });

  function receive(msg) {
    if (msg.type === REPLY.READY) return onReady(msg);
    if (msg.type === REPLY.STARTUP_ERROR) return onError(new RequestError(msg.kind, msg.message), { startup: true });
    // Progress reports carry the id of the training they belong to but do not answer it.
    if (msg.type === REPLY.PROGRESS) return onProgress(msg);
    const waiter = msg.id === null || msg.id === undefined ? null : pending.get(msg.id);
    if (!waiter) {
      if (msg.type === REPLY.ERROR) onError(new RequestError(msg.kind, msg.message), { startup: false });
      return undefined;
    }
    pending.delete(msg.id);
    if (msg.type === REPLY.ERROR) waiter.reject(new RequestError(msg.kind, msg.message));
    else waiter.resolve(msg);
    return undefined;
  }

  /** Posts `{type, id, ...payload}`; `reply` resolves with the answer or rejects with a RequestError. */
  function call(type, payload = {}, transfer = []) {
    const id = nextId++;
    return {
      id,
      reply: new Promise((resolve, reject) => {
        if (supervisor.dead) {
          reject(new RequestError('internal', supervisor.unsupported
            ? `the classifier cannot run in this browser: ${supervisor.unsupported}`
            : 'the classifier stopped unexpectedly too often: reload the page'));
          return;
        }
        pending.set(id, { resolve, reject });
        supervisor.post({ type, id, ...payload }, transfer);
      }),
    };
  }

  // Sent before anything else, so that requests queued behind it use the restored model.
  // A pretrained-feature model comes back with `needs_backbone`: it is sent again once the
  // backbone is loaded.
  function restoreModel() {
    if (!modelBytes) return;
    const send = () => {
      const bytes = modelBytes.slice();
      return call(REQUEST.LOAD_MODEL, { bytes }, [bytes.buffer]).reply;
    };
    send().then(async (r) => {
      if (!r.needs_backbone) return;
      await ensureBackbone();
      if ((await send()).needs_backbone) throw new Error('the pretrained network is still missing');
    }).catch((e) => {
      onCrash({ reason: `the model could not be restored: ${e.message}`, restarted: true, restoring: false });
    });
  }

  function crashed({ reason, restarted }) {
    const failed = [...pending.values()];
    pending.clear();
    const error = new RequestError('internal', `the classifier stopped unexpectedly (${reason})` +
      (restarted ? ' and was restarted: try again' : ''), { crash: true });
    for (const { reject } of failed) reject(error);
    onCrash({ reason, restarted, restoring: restarted && Boolean(modelBytes) });
  }

  const client = {
    call,
    /** The live worker (for the tests of recovery). */
    worker: () => supervisor.worker,
    /**
     * Keeps the current model's bytes in the page (~100 KB for logistic regression, ~2 MB for
     * the deep networks) so that a restarted worker can be given it back.
     */
    async keepModel() {
      try {
        const { bytes } = await call(REQUEST.EXPORT_MODEL).reply;
        modelBytes = new Uint8Array(bytes);
      } catch {
        // The model in the worker still works; only a future restart would lack it.
      }
    },
  };
  return client;
}
