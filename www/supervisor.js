// The worker is the one place where the WebAssembly module runs, so it is also a single point
// of failure: a bug that throws outside a request, a trap in the module, or the browser killing
// it (out of memory) would otherwise leave the page waiting forever. The supervisor owns the
// worker's life: it starts it, pings it while the page waits on it, notices when it dies and
// starts a new one. Requests and replies are client.js's.

import { REQUEST, REPLY } from './protocol.js';
import { engineProblem } from './support.js';

// While the page waits on the worker, it pings it; a worker that has answered nothing for this
// long is dead (terminated or hung). Requests yield often (training steps take ~25 ms, a
// 50-megapixel photo decodes in a few seconds), so a live worker is never this quiet.
const PING_MS = 1000;
const STALL_MS = 15_000;
// More crashes than this in a minute means something is broken for good: stop restarting.
const MAX_CRASHES_PER_MINUTE = 3;

export class Supervisor {
  /**
   * `onMessage(msg)`: every message of the current worker but pongs and `fatal`.
   * `onStart()`: a worker was just started (the first or a replacement), before anything else
   * is posted to it. `onCrash({reason, restarted})`: the worker died after starting; a new one
   * is already started if `restarted`. `onStartFailure(text)`: the worker script could not even
   * be loaded, or this browser cannot run it (then `unsupported` holds the text and no worker
   * is started). `isWaiting()`: whether the page waits on the worker (then it is pinged).
   */
  constructor(url, { onMessage, onStart, onCrash, onStartFailure, isWaiting }) {
    Object.assign(this, { url, onMessage, onStart, onCrash, onStartFailure, isWaiting });
    this.crashes = [];
    this.worker = null;
    this.dead = false;
    this.nextPingId = 1; // pings count apart from requests: a pong answers no request
    this.start();
    setInterval(() => this.watch(), PING_MS);
  }

  start() {
    // A browser that cannot run the worker or its module gets no worker at all: only the words
    // for what it lacks (in a later task, as a worker's failure would come).
    const problem = engineProblem();
    if (problem) {
      this.dead = true;
      this.unsupported = problem;
      setTimeout(() => this.onStartFailure(problem));
      return;
    }
    const worker = new Worker(this.url, { type: 'module' });
    this.worker = worker;
    this.started = false; // becomes true on the worker's first message
    this.lastHeard = performance.now();
    worker.addEventListener('message', (event) => {
      if (worker !== this.worker) return; // a late message of a worker already replaced
      this.lastHeard = performance.now();
      this.started = true;
      const msg = event.data;
      if (msg.type === REPLY.PONG) return;
      if (msg.type === REPLY.FATAL) this.crash(`the WebAssembly module failed: ${msg.message}`);
      else this.onMessage(msg);
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
    this.onStart();
  }

  post(msg, transfer = []) {
    this.worker.postMessage(msg, transfer);
  }

  watch() {
    if (!this.started) return;
    const quiet = performance.now() - this.lastHeard;
    if (quiet > STALL_MS) {
      this.crash(`it stopped answering for more than ${STALL_MS / 1000} s`);
    } else if (this.isWaiting() || quiet > PING_MS) {
      this.post({ type: REQUEST.PING, id: this.nextPingId++ });
    }
  }

  crash(reason) {
    const now = performance.now();
    this.crashes = this.crashes.filter((t) => now - t < 60_000);
    this.crashes.push(now);
    this.worker.terminate();
    const restarted = this.crashes.length <= MAX_CRASHES_PER_MINUTE;
    if (!restarted) {
      this.dead = true;
      this.started = false; // no watchdog on a worker that is gone
    }
    // The requests of the dead worker fail first, then the new one starts.
    this.onCrash({ reason, restarted });
    if (restarted) this.start();
  }
}
