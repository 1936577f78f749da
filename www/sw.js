// The service worker: after a first visit the page, the WebAssembly module and the dataset are
// in a cache, so the page reloads, trains and classifies with no network at all, and a second
// visit to an unchanged build downloads almost nothing.
//
// It agrees with the server through build.json, which build.sh writes: the build's id and the
// sha256 of every file the page needs. A cache named after a build holds exactly that build's
// files (checked against their hashes) and is complete once it holds its build.json.
// - Each page load asks the server for build.json (a conditional request: a 304 when nothing
//   changed). When it names the build the complete cache holds, the page and every file of the
//   build come from that cache: no other request.
// - When it names another build (or none is cached yet), everything comes from the server as
//   on a first visit, so a new build is never hidden behind an old cache; once the page has
//   loaded it asks this worker to cache the new build (offline.js), which copies the unchanged
//   files from the old build's cache and fetches only the changed ones.
// - Offline (no build.json), every request falls back to the cached copies.
// Files outside the build's list (the pretrained network, fetched only when needed) are kept in
// a cache of their own on their first fetch. Only same-origin GETs are touched.

const BUILD_PREFIX = 'purrceptron-build-';
const RUNTIME = 'purrceptron-runtime';
const MANIFEST = './build.json';

// The build the server has, as build.json said at the last page load (null: not known here, e.g.
// this worker was restarted since; then the server is asked first, which is always correct).
let latest = null;

const sameOrigin = (url) => new URL(url, self.location.href).origin === self.location.origin;
const absolute = (url) => new URL(url, self.location.href).href;
const withoutSearch = (url) => {
  const u = new URL(url, self.location.href);
  u.search = '';
  u.hash = '';
  return u.href;
};
/** Whether `url` is one of the files of the server's build (as far as this worker knows). */
const listed = (url) => Boolean(latest) && Object.keys(latest.files).some((f) => absolute(f) === withoutSearch(url));
const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/** The server's build.json: {build, files: {url: sha256}}; throws offline or without one. */
async function fetchManifest() {
  const response = await fetch(MANIFEST, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`build.json: HTTP ${response.status}`);
  const manifest = await response.json();
  if (typeof manifest?.build !== 'string' || typeof manifest.files !== 'object') throw new Error('build.json: malformed');
  return manifest;
}

// The complete build cache, looked up once per run of this worker (every request needs it) and
// again after cacheBuild, which may complete another and delete the old.
let completeLookup = null;

/** The complete build cache: {build, cache, manifest}, or null. */
function completeBuild() {
  completeLookup ??= findCompleteBuild();
  return completeLookup;
}

async function findCompleteBuild() {
  for (const name of await caches.keys()) {
    if (!name.startsWith(BUILD_PREFIX)) continue;
    const cache = await caches.open(name);
    const stored = await cache.match(MANIFEST);
    if (stored) return { build: name.slice(BUILD_PREFIX.length), cache, manifest: await stored.json() };
  }
  return null;
}

// Large files the page reads as a stream (the pretrained network, with a progress bar): handed
// over at once and cached meanwhile, instead of after the whole body has been stored.
const STREAMED = /\/data\/backbone\.safetensors$/;

/** From the server; a file outside the build's list is kept for offline use. Offline: any cached copy. */
async function networkFirst(event) {
  const { request } = event;
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic' && request.mode !== 'navigate' && latest && !listed(request.url)) {
      const stored = caches.open(RUNTIME).then((cache) => cache.put(request, response.clone()));
      if (STREAMED.test(new URL(request.url).pathname)) event.waitUntil(stored.catch(() => {}));
      else await stored;
    }
    return response;
  } catch (e) {
    const cached = await caches.match(request, { ignoreSearch: true, ignoreVary: true });
    if (cached) return answer(request, cached);
    throw e;
  }
}

/**
 * A cached copy as the answer to `request`. A copy keeps the URL it was cached under, and a page
 * or a worker served a response takes that response's URL as its own: a request with a query
 * (`worker.js?test`, the tests' mode) gets the copy without its URL, so that it keeps its own.
 */
const answer = (request, hit) => (new URL(request.url).search
  ? new Response(hit.body, { status: hit.status, statusText: hit.statusText, headers: hit.headers })
  : hit);

/** Any request: from the complete cache when it holds the server's build, else the server's. */
async function fromBuild(event) {
  if (latest) {
    const complete = await completeBuild();
    if (complete?.build === latest.build) {
      const hit = await complete.cache.match(event.request, { ignoreSearch: true, ignoreVary: true });
      if (hit) return answer(event.request, hit);
    }
  }
  return networkFirst(event);
}

/** A page load: asks the server which build it has first (offline: none, so the cache answers). */
async function navigate(event) {
  try {
    latest = await fetchManifest();
  } catch {
    latest = null; // offline, or a server without build.json: the server first, then the cache
  }
  return fromBuild(event);
}

/**
 * Makes the cache of `manifest`'s build complete: unchanged files are copied from the previous
 * build's cache, the others fetched and checked against their sha256. A file that changed again
 * meanwhile (a newer build) leaves the cache incomplete: the next page load starts over.
 */
async function cacheBuild(manifest) {
  const name = BUILD_PREFIX + manifest.build;
  const cache = await caches.open(name);
  if (!(await cache.match(MANIFEST))) {
    const previous = await completeBuild();
    for (const [url, sha256] of Object.entries(manifest.files)) {
      if (await cache.match(url)) continue;
      const same = previous && previous.manifest.files[url] === sha256 && await previous.cache.match(url);
      if (same) {
        await cache.put(url, same);
        continue;
      }
      const response = await fetch(url, { cache: 'no-cache' });
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      const got = hex(await crypto.subtle.digest('SHA-256', await response.clone().arrayBuffer()));
      if (got !== sha256) throw new Error(`${url} changed while it was being cached`);
      await cache.put(url, response);
    }
    await cache.put(MANIFEST, new Response(JSON.stringify(manifest), { headers: { 'Content-Type': 'application/json' } }));
  }
  for (const other of await caches.keys()) {
    if (other.startsWith('purrceptron-') && other !== name && other !== RUNTIME) await caches.delete(other);
  }
  completeLookup = null; // this build's cache is now the one
}

self.addEventListener('install', (event) => {
  // Nothing is cached while installing: Chromium compiles a wasm response put in the cache,
  // which would compete with the page's first training for the CPU (measured: 50-90 ms long
  // tasks on the page's thread on a busy 2-core machine). The page asks once it has loaded.
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  // Control the page that installed us, so its next requests are cached without a reload.
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !sameOrigin(request.url)) return;
  event.respondWith(request.mode === 'navigate' ? navigate(event) : fromBuild(event));
});

// {type: 'cache', urls}: the page has loaded; cache the server's build, and the other
// same-origin files it loaded (outside the build's list). Replies {type: 'cached', build}.
self.addEventListener('message', (event) => {
  const { type, urls } = event.data ?? {};
  if (type !== 'cache' || !Array.isArray(urls)) return;
  event.waitUntil((async () => {
    let build = null;
    try {
      const manifest = latest ?? await fetchManifest();
      latest = manifest;
      await cacheBuild(manifest);
      build = manifest.build;
      const runtime = await caches.open(RUNTIME);
      for (const url of urls.filter((u) => typeof u === 'string' && sameOrigin(u) && !listed(u))) {
        if (!(await caches.match(url, { ignoreSearch: true, ignoreVary: true }))) await runtime.add(url).catch(() => {});
      }
    } catch (e) {
      console.warn(`offline use is not ready: ${e instanceof Error ? e.message : e}`);
    }
    event.source?.postMessage({ type: 'cached', build });
  })());
});
