// The worker is the one place where the WebAssembly module runs, so it is also a single point
// of failure: a bug that throws outside a request, a trap in the module, or the browser killing
// it (out of memory) would otherwise leave the page waiting forever. The supervisor owns the
// worker and its request/reply protocol, notices when it dies, starts a new one and gives it
// back the current model, whose bytes the page keeps after each training.

// While the page waits on the worker, it pings it; a worker that has answered nothing for this
// long is dead (terminated or hung). Requests yield often (training steps take ~25 ms, a
// 50-megapixel photo decodes in a few seconds), so a live worker is never this quiet.
const PING_MS = 1000;
const STALL_MS = 15_000;
// More crashes than this in a minute means something is broken for good: stop restarting.
const MAX_CRASHES_PER_MINUTE = 3;

export class Supervisor {
  /**
   * `onMessage(msg)`: every message no pending request owns (`ready`, `progress`, errors with
   * id 0 or null). `onCrash({reason, restarted, restoring})`: the worker died after starting.
   * `onStartFailure(text)`: the worker script could not even be loaded.
   */
  constructor(url, { onMessage, onCrash, onStartFailure }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onCrash = onCrash;
    this.onStartFailure = onStartFailure;
    this.pending = new Map(); // id -> {resolve, reject}
    this.nextId = 1;
    this.modelBytes = null; // Uint8Array of the current model file, restored into a new worker
    this.crashes = [];
    this.worker = null;
    this.start();
    setInterval(() => this.watch(), PING_MS);
  }

  start() {
    const worker = new Worker(this.url, { type: 'module' });
    this.worker = worker;
    this.started = false; // becomes true on the worker's first message
    this.lastHeard = performance.now();
    worker.addEventListener('message', (event) => {
      if (worker !== this.worker) return; // a late message of a worker already replaced
      this.lastHeard = performance.now();
      this.started = true;
      this.receive(event.data);
    });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      if (worker !== this.worker) return;
      if (!this.started) {
        this.onStartFailure(event.message || `${this.url} failed to load`);
      } else {
        this.crash(`an uncaught error: ${event.message || 'no message'}`);
      }
    });
    if (this.modelBytes) {
      // Sent before anything else, so that requests queued behind it use the restored model.
      const bytes = this.modelBytes.slice();
      this.call('load-model', { bytes }, [bytes.buffer]).reply.catch((e) => {
        this.onCrash({ reason: `the model could not be restored: ${e.message}`, restarted: true, restoring: false });
      });
    }
  }

  receive(msg) {
    if (msg.type === 'pong') return;
    if (msg.type === 'fatal') {
      this.crash(`the WebAssembly module failed: ${msg.message}`);
      return;
    }
    // Progress reports carry the id of the training they belong to but do not answer it.
    const waiter = msg.type === 'progress' || msg.type === 'ready' ? null : this.pending.get(msg.id);
    if (waiter) {
      this.pending.delete(msg.id);
      if (msg.type === 'error') waiter.reject(new Error(msg.message));
      else waiter.resolve(msg);
    } else {
      this.onMessage(msg);
    }
  }

  /** Posts `{type, id, ...payload}`; `reply` resolves with the answer or rejects with its error. */
  call(type, payload = {}, transfer = []) {
    const id = this.nextId++;
    return {
      id,
      reply: new Promise((resolve, reject) => {
        if (this.dead) {
          reject(new Error('the classifier stopped unexpectedly too often: reload the page'));
          return;
        }
        this.pending.set(id, { resolve, reject });
        this.worker.postMessage({ type, id, ...payload }, transfer);
      }),
    };
  }

  watch() {
    if (!this.started) return;
    const quiet = performance.now() - this.lastHeard;
    if (quiet > STALL_MS) {
      this.crash(`it stopped answering for more than ${STALL_MS / 1000} s`);
    } else if (this.pending.size > 0 || quiet > PING_MS) {
      this.worker.postMessage({ type: 'ping', id: 0 });
    }
  }

  crash(reason) {
    const now = performance.now();
    this.crashes = this.crashes.filter((t) => now - t < 60_000);
    this.crashes.push(now);
    this.worker.terminate();
    const failed = [...this.pending.values()];
    this.pending.clear();
    const restarted = this.crashes.length <= MAX_CRASHES_PER_MINUTE;
    const restoring = restarted && Boolean(this.modelBytes);
    if (restarted) this.start();
    else {
      this.dead = true;
      this.started = false; // no watchdog on a worker that is gone
    }
    const error = new Error(`the classifier stopped unexpectedly (${reason})` +
      (restarted ? ' and was restarted: try again' : ''));
    for (const { reject } of failed) reject(error);
    this.onCrash({ reason, restarted, restoring });
  }
}
