// Registers the service worker (sw.js) that keeps the page usable offline after a first visit,
// and marks the page once everything it needs is cached: <html data-offline-ready="true">.

async function register() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('./sw.js', { scope: './' });
    const registration = await navigator.serviceWorker.ready;
    // Files this page loaded that the worker's own list may not name (a stylesheet or module
    // added later): it caches whichever it does not hold yet.
    const urls = performance.getEntriesByType('resource')
      .map((e) => e.name)
      .filter((u) => new URL(u).origin === location.origin);
    const done = new Promise((resolve) => {
      navigator.serviceWorker.addEventListener('message', (event) => {
        if (event.data?.type === 'cached') resolve();
      });
    });
    registration.active?.postMessage({ type: 'cache', urls: [location.href, ...urls] });
    await done;
    document.documentElement.dataset.offlineReady = 'true';
  } catch (e) {
    // The page works without it, only not offline; say so quietly.
    console.warn(`offline use is not available: ${e instanceof Error ? e.message : e}`);
  }
}

// After the load, so the first visit's requests are not slowed by the cache filling up.
if (document.readyState === 'complete') register();
else window.addEventListener('load', register, { once: true });
