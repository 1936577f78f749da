// Registers the service worker (sw.js) that keeps the page usable offline after a first visit,
// and marks the page once everything it needs is cached: <html data-offline-ready="true">.

async function register() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('./sw.js', { scope: './' });
    const registration = await navigator.serviceWorker.ready;
    // The service worker caches the build's files (build.json) and, of these, the ones
    // outside that list the page has loaded (the pretrained network, if it was fetched).
    const urls = performance.getEntriesByType('resource')
      .map((e) => e.name)
      .filter((u) => new URL(u).origin === location.origin);
    const done = new Promise((resolve) => {
      navigator.serviceWorker.addEventListener('message', (event) => {
        if (event.data?.type === 'cached') resolve(event.data.build);
      });
    });
    registration.active?.postMessage({ type: 'cache', urls: [location.href, ...urls] });
    // The build the service worker now holds in full (null: it could not cache it; it says why).
    const build = await done;
    if (build) document.documentElement.dataset.offlineReady = 'true';
  } catch (e) {
    // The page works without it, only not offline; say so quietly.
    console.warn(`offline use is not available: ${e instanceof Error ? e.message : e}`);
  }
}

// After the load, so the first visit's requests are not slowed by the cache filling up.
if (document.readyState === 'complete') register();
else window.addEventListener('load', register, { once: true });
