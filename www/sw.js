// The service worker: after a first visit the page, the WebAssembly module and the dataset
// are in a cache, so the page reloads, trains and classifies with no network at all.
//
// Network first, cache as fallback: online, every request goes to the server as before (a new
// build is never hidden behind an old cache) and refreshes the cached copy; offline, the cached
// copy answers. Only same-origin GETs are touched.

const CACHE = 'purrceptron-v3';

// What the page and its worker load. Files the page loads that are not listed here are
// cached too, from the list the page sends once it is controlled (see offline.js).
const ASSETS = [
  './',
  './index.html',
  './style.css',
  './cards.css',
  './owndata.css',
  './keep.css',
  './main.js',
  './helpers.js',
  './protocol.js',
  './status.js',
  './client.js',
  './supervisor.js',
  './dataset.js',
  './training.js',
  './chart.js',
  './cards.js',
  './input.js',
  './owndata.js',
  './saved.js',
  './inspect.js',
  './offline.js',
  './worker.js',
  './wasm-load.js',
  './owndata-worker.js',
  './backbone.js',
  './filestore.js',
  './heatmap.js',
  './pkg/purrceptron.js',
  './data/catvnoncat.safetensors',
];

// The pretrained network (data/backbone.safetensors, 4.7 MB) is not listed: the page fetches it
// only when it needs it, and the fetch handler below keeps it in the cache on that first fetch
// (the page also keeps it in IndexedDB).

// Cached when the page asks (after its load), not during install: Chromium compiles a wasm
// response put in the cache while installing, which competes with the page's first training
// for the CPU (measured: 50-90 ms long tasks on the page's thread on a busy 2-core machine).
const LATER = ['./pkg/purrceptron_bg.wasm'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('purrceptron-') && name !== CACHE) await caches.delete(name);
    }
    // Control the page that installed us, so its next requests are cached without a reload.
    await self.clients.claim();
  })());
});

const sameOrigin = (url) => new URL(url, self.location.href).origin === self.location.origin;

// Large files the page reads as a stream (the pretrained network, with a progress bar): handed
// over at once and cached meanwhile, instead of after the whole body has been stored.
const STREAMED = /\/data\/backbone\.safetensors$/;

async function networkFirst(event) {
  const { request } = event;
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') {
      const stored = cache.put(request, response.clone());
      if (STREAMED.test(new URL(request.url).pathname)) event.waitUntil(stored.catch(() => {}));
      else await stored;
    }
    return response;
  } catch (e) {
    const cached = await cache.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !sameOrigin(request.url)) return;
  event.respondWith(networkFirst(event));
});

// {type: 'cache', urls}: same-origin files the page has loaded, to make sure they are cached.
self.addEventListener('message', (event) => {
  const { type, urls } = event.data ?? {};
  if (type !== 'cache' || !Array.isArray(urls)) return;
  const wanted = [...LATER.map((u) => new URL(u, self.location.href).href),
    ...urls.filter((u) => typeof u === 'string' && sameOrigin(u))];
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const url of wanted) {
      if (!(await cache.match(url, { ignoreSearch: true }))) await cache.add(url).catch(() => {});
    }
    event.source?.postMessage({ type: 'cached', count: wanted.length });
  })());
});
