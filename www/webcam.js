// The webcam: one camera stream for the page, asked for only when a person first wants it. A
// class's "Hold to record" adds frames to that class at a steady rate while it is held; the live
// preview classifies frames continuously with the model in use. No camera, or a refused one, is
// said in words, and the rest of the page keeps working. Frames stay in this browser, as photos
// do.

import { $ } from './helpers.js';
import { REQUEST } from './protocol.js';

// Frames a second while recording; the live preview classifies at most this often.
const RECORD_MS = 200;
const PREVIEW_MS = 250;
// The side of the longest edge of a recorded frame: enough for the 128 px the backbone sees.
const FRAME_EDGE = 320;

/** What to tell a person for a failed `getUserMedia` (`e` its error). */
function cameraProblem(e) {
  switch (e?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'The camera was refused: allow it for this page in the browser\'s site settings, or give photos instead.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found: connect one, or give photos instead.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera is busy (another program may be using it): close that program, or give photos instead.';
    default:
      return `The camera could not start (${e?.message ?? e}): give photos instead.`;
  }
}

/**
 * Wires the webcam box. `call` talks to the worker, `status` is status.js's. Returns
 * {hold(button, onFrame)}: makes `button` record frames (each a JPEG Blob given to `onFrame`)
 * while it is held down by mouse, touch or keyboard.
 */
export function createWebcam({ call, status }) {
  const el = {
    box: $('webcam-box'),
    video: $('webcam-video'),
    preview: $('webcam-preview'),
    label: $('live-label'),
    stop: $('webcam-stop'),
  };
  const canvas = document.createElement('canvas');
  let stream = null;
  let starting = null;
  let previewing = false;
  let previewTimer = null;
  const supported = Boolean(navigator.mediaDevices?.getUserMedia);

  /** The running stream, started (and shown) if needed; null when it cannot be had. */
  async function camera() {
    if (stream) return stream;
    if (!supported) {
      status.showError('This browser gives the page no camera (it needs a secure page and camera support): give photos instead.');
      return null;
    }
    starting ??= navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false })
      .then(async (s) => {
        stream = s;
        el.video.srcObject = s;
        el.box.hidden = false;
        await el.video.play();
        return s;
      })
      .catch((e) => {
        status.showError(cameraProblem(e));
        status.announce(cameraProblem(e));
        return null;
      })
      .finally(() => { starting = null; });
    return starting;
  }

  function stopCamera() {
    stopPreview();
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    el.video.srcObject = null;
    el.box.hidden = true;
  }

  /** The current frame as a JPEG Blob (at most FRAME_EDGE on its longest edge), or null. */
  function frame() {
    const { videoWidth: w, videoHeight: h } = el.video;
    if (!w || !h) return Promise.resolve(null);
    const scale = Math.min(1, FRAME_EDGE / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext('2d').drawImage(el.video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
  }

  function hold(button, onFrame) {
    const idle = button.textContent;
    let timer = null;
    let frames = 0;
    let held = false;
    const begin = async () => {
      if (held) return;
      held = true;
      if (!(await camera()) || !held) {
        held = false;
        return;
      }
      frames = 0;
      button.setAttribute('aria-pressed', 'true');
      button.textContent = 'Recording… 0 frames';
      let pending = false;
      timer = setInterval(async () => {
        // A steady rate: a frame still being encoded skips this tick instead of piling up.
        if (pending) return;
        pending = true;
        const blob = await frame();
        pending = false;
        if (!blob || !held) return;
        frames++;
        button.dataset.frames = String(frames);
        button.textContent = `Recording… ${frames} ${frames === 1 ? 'frame' : 'frames'}`;
        onFrame(blob, frames);
      }, RECORD_MS);
    };
    const end = () => {
      if (!held) return;
      held = false;
      clearInterval(timer);
      timer = null;
      button.setAttribute('aria-pressed', 'false');
      button.textContent = idle;
      if (frames) status.announce(`Recorded ${frames} ${frames === 1 ? 'frame' : 'frames'}.`);
    };
    button.setAttribute('aria-pressed', 'false');
    if (!supported) button.title = 'This browser gives the page no camera.';
    button.addEventListener('pointerdown', (e) => {
      button.setPointerCapture?.(e.pointerId);
      begin();
    });
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) button.addEventListener(type, end);
    button.addEventListener('keydown', (e) => {
      if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) {
        e.preventDefault();
        begin();
      }
    });
    button.addEventListener('keyup', (e) => {
      if (e.key === ' ' || e.key === 'Enter') end();
    });
    button.addEventListener('blur', end);
  }

  // The live preview: the model in use on the camera's frames, one at a time.
  async function previewTick() {
    previewTimer = null;
    if (!previewing) return;
    const started = performance.now();
    try {
      const blob = await frame();
      if (blob && previewing) {
        const bytes = await blob.arrayBuffer();
        const r = await call(REQUEST.CLASSIFY, { bytes, name: 'webcam frame' }, [bytes]).reply;
        if (previewing) {
          el.label.dataset.label = r.label;
          el.label.dataset.probability = String(r.probability);
          el.label.textContent = `${r.label} (${(100 * r.probabilities[r.label]).toFixed(0)}%)`;
        }
      }
    } catch (e) {
      if (previewing) {
        delete el.label.dataset.label;
        el.label.textContent = e.message;
      }
    }
    if (previewing) previewTimer = setTimeout(previewTick, Math.max(0, PREVIEW_MS - (performance.now() - started)));
  }

  function stopPreview() {
    previewing = false;
    clearTimeout(previewTimer);
    previewTimer = null;
    el.preview.setAttribute('aria-pressed', 'false');
    el.preview.textContent = 'Live preview';
  }

  if (!supported) el.preview.title = 'This browser gives the page no camera.';
  el.preview.addEventListener('click', async () => {
    if (previewing) {
      stopPreview();
      return;
    }
    if (!(await camera())) return;
    previewing = true;
    el.preview.setAttribute('aria-pressed', 'true');
    el.preview.textContent = 'Stop the live preview';
    previewTick();
  });
  el.stop.addEventListener('click', stopCamera);

  return { hold };
}
