// What the page needs of the browser that a browser may lack, found by feature checks (never by
// the user-agent string): each lack is said in words instead of surfacing as an engine's raw
// error. Used by the page (before its worker starts) and by the workers (before the module is
// compiled), so no DOM at import time.

// The smallest module using a SIMD instruction, as the wasm build does (+simd128). It includes
// i8x16.popcnt, one of the last opcodes the SIMD proposal settled on, so an engine that only
// knew a draft of it fails too.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, // magic: \0asm
  0x01, 0x00, 0x00, 0x00, // version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: one type, () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function, of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, // code section: one body of 8 bytes, no locals
  0x41, 0x00, // i32.const 0
  0xfd, 0x0f, // i8x16.splat
  0xfd, 0x62, // i8x16.popcnt
  0x0b, // end
]);

const SIMD_BROWSERS = 'Safari 16.4, Firefox 89, Chrome and Edge 91 and later have it';

/**
 * What this browser lacks to run the classifier's WebAssembly module, as a sentence without its
 * final full stop, or null when nothing is missing.
 */
export function wasmProblem() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') {
    return 'this browser runs no WebAssembly (it may be turned off in its settings), and the classifier is ' +
      `WebAssembly with SIMD: ${SIMD_BROWSERS}`;
  }
  if (!WebAssembly.validate(SIMD_PROBE)) {
    return 'this browser\'s WebAssembly has no SIMD (vector instructions), which the classifier is built with: ' +
      `${SIMD_BROWSERS}. Update the browser or use another one`;
  }
  return null;
}

/**
 * Whether `new Worker(url, {type: 'module'})` runs a module worker here. An engine without them
 * never reads the option; the URL is invalid so that no worker is ever started. An engine that
 * reads the option only to refuse it throws a TypeError instead of the URL's SyntaxError.
 */
function moduleWorkers() {
  if (typeof Worker !== 'function') return false;
  let read = false;
  try {
    new Worker('http://[', { get type() { read = true; return 'module'; } }).terminate();
  } catch (e) {
    return read && !(e instanceof TypeError);
  }
  return read;
}

/** What the page lacks to start its worker and module (a sentence without its full stop), or null. */
export function engineProblem() {
  if (!moduleWorkers()) {
    return 'this browser cannot run module workers, where the classifier runs: Safari 15, Firefox 114, ' +
      'Chrome and Edge 80 and later can';
  }
  return wasmProblem();
}

/** Whether an `<input type=file webkitdirectory>` picks a folder in this browser. */
export const folderPicker = () => typeof HTMLInputElement === 'function' && 'webkitdirectory' in HTMLInputElement.prototype;

/**
 * Where this browser has no folder picker, a folder button (a label before an
 * `<input webkitdirectory>`, in the page or in one of its templates) would open a plain file
 * picker: it is turned off and says why.
 */
export function markFolderPickers(doc = document) {
  if (folderPicker()) return;
  const roots = [doc, ...[...doc.querySelectorAll('template')].map((t) => t.content)];
  for (const input of roots.flatMap((root) => [...root.querySelectorAll('input[webkitdirectory]')])) {
    input.disabled = true;
    const label = input.previousElementSibling;
    if (label?.tagName !== 'LABEL') continue;
    label.classList.add('unsupported');
    label.textContent = `${label.textContent} (not in this browser)`;
    label.title = 'This browser has no folder picker: choose or drop the photos themselves.';
  }
}
