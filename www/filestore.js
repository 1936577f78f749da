// Files kept in the browser's IndexedDB by key (the pretrained backbone, 4.7 MB), so that a
// second visit and offline use need no network. Its own database, apart from the saved models'.

const DB_NAME = 'purrceptron-files';
const STORE = 'files';

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

async function inStore(mode, f) {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  const db = await request(open);
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    const result = await request(f(tx.objectStore(STORE)));
    await done;
    return result;
  } finally {
    db.close();
  }
}

/** The ArrayBuffer kept under `key`, or null. */
export async function getFile(key) {
  const value = await inStore('readonly', (s) => s.get(key));
  return value instanceof ArrayBuffer ? value : null;
}

/** Keeps a copy of `bytes` (an ArrayBuffer) under `key`. */
export const putFile = (key, bytes) => inStore('readwrite', (s) => s.put(bytes, key));

/** Forgets `key`. */
export const deleteFile = (key) => inStore('readwrite', (s) => s.delete(key));
