// The page in Firefox and WebKit, from Debian's packages (no browser is ever downloaded), behind
// one small interface: Playwright drives only its own builds of those two, so Firefox ESR is
// driven over WebDriver BiDi (its --remote-debugging-port) and WebKitGTK's MiniBrowser over the
// classic WebDriver HTTP API of WebKitWebDriver, in an Xvfb display of its own.
//
//   const b = await launch('firefox' | 'webkit', { appOrigin });
//   await b.goto(url); await b.evaluate(fn, arg); await b.waitFor(fn, arg);
//   await b.click(selector); await b.setFiles(selector, [{name, buffer}]); await b.reload();
//   b.requests: [{url, method}] (every request the page, its workers and its service worker
//   made); b.errors(): console errors and uncaught errors; await b.close().

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

export const FIREFOX = process.env.PURRCEPTRON_FIREFOX || '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER = process.env.PURRCEPTRON_WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
// Debian ships MiniBrowser with libwebkit2gtk-4.1-0, under the architecture's library folder.
export const MINIBROWSER = process.env.PURRCEPTRON_MINIBROWSER
  || readdirSync('/usr/lib').map((d) => `/usr/lib/${d}/webkit2gtk-4.1/MiniBrowser`).find((p) => existsSync(p))
  || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const ENGINES = Object.freeze(['firefox', 'webkit']);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first match of `re` in what `stream` prints, or rejects after `ms`. */
function waitForLine(child, stream, re, ms, what) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${ms} ms:\n${text.slice(-2000)}`)), ms);
    const onData = (d) => {
      text += d;
      const m = text.match(re);
      if (m) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(m);
      }
    };
    stream.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before starting:\n${text.slice(-2000)}`));
    });
  });
}

function killTree(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      resolve();
    }, 5_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    // Started detached, so the group holds the browser's own child processes as well.
    try { process.kill(-child.pid, 'SIGTERM'); } catch { child.kill(); }
  });
}

/** A source of a function and its one JSON argument, as a call expression. */
const callSource = (fn, arg) => `(${fn.toString()})(${arg === undefined ? '' : JSON.stringify(arg)})`;

// ---- Firefox over WebDriver BiDi -----------------------------------------------------------------

// A fresh profile that keeps Firefox itself off the network (the remote agent's recommended
// preferences already cover updates and most first-run traffic) and out of the tests' way.
const FIREFOX_PREFS = {
  'app.normandy.enabled': false,
  'app.update.disabledForTesting': true,
  'browser.newtabpage.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'extensions.update.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.http.speculative-parallel-limit': 0,
  'network.prefetch-next': false,
  'services.settings.server': 'http://127.0.0.1:9/',
  'toolkit.telemetry.enabled': false,
  // Downloads go where the test says, without a dialog.
  'browser.download.useDownloadDir': true,
  'browser.download.folderList': 2,
  'browser.download.always_ask_before_handling_new_types': false,
};

async function launchFirefox({ width, height, prefs: extra = {} }) {
  const profile = await mkdtemp(path.join(tmpdir(), 'purrceptron-firefox-'));
  const downloads = path.join(profile, 'downloads');
  await mkdir(downloads);
  const prefs = { ...FIREFOX_PREFS, 'browser.download.dir': downloads, ...extra };
  await writeFile(path.join(profile, 'user.js'),
    Object.entries(prefs).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n'));
  const child = spawn(FIREFOX, ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port=0',
    '--remote-allow-hosts=127.0.0.1', `--width=${width}`, `--height=${height}`, 'about:blank'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1', MOZ_DISABLE_SAFE_MODE_KEY: '1' },
  });
  let log = '';
  child.stdout.on('data', (d) => { log = (log + d).slice(-20_000); });
  child.stderr.on('data', (d) => { log = (log + d).slice(-20_000); });
  let ws;
  const cleanup = async () => {
    ws?.close();
    await killTree(child);
    await rm(profile, { recursive: true, force: true });
  };
  try {
    const [, endpoint] = await waitForLine(child, child.stderr, /WebDriver BiDi listening on (ws:\/\/\S+)/, 30_000, 'Firefox');
    ws = new WebSocket(`${endpoint}/session`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  } catch (e) {
    await cleanup();
    throw e;
  }

  let nextId = 1;
  const pending = new Map();
  const listeners = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id !== undefined && pending.has(msg.id)) {
      const { resolve, reject, method } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.type === 'error') reject(new Error(`${method}: ${msg.error}: ${msg.message}`));
      else resolve(msg.result);
    } else if (msg.type === 'event') {
      for (const l of listeners) l(msg);
    }
  });
  ws.on('close', () => {
    for (const { reject, method } of pending.values()) reject(new Error(`${method}: the browser closed the connection`));
    pending.clear();
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, method });
    ws.send(JSON.stringify({ id, method, params }));
  });

  try {
    await send('session.new', { capabilities: { alwaysMatch: { unhandledPromptBehavior: { default: 'dismiss' } } } });
    const { contexts } = await send('browsingContext.getTree', {});
    const context = contexts[0].context;
    const requests = [];
    const errors = [];
    const downloadsSeen = [];
    listeners.push(({ method, params }) => {
      if (method === 'network.beforeRequestSent') {
        requests.push({ url: params.request.url, method: params.request.method });
      } else if (method === 'log.entryAdded' && params.level === 'error') {
        errors.push(`${params.type === 'javascript' ? 'pageerror' : 'console'}: ${params.text}`);
      } else if (method === 'browsingContext.downloadWillBegin') {
        downloadsSeen.push({ suggestedFilename: params.suggestedFilename, url: params.url });
      }
    });
    // Every event of this kind, whatever its realm: the page, its workers, its service worker.
    await send('session.subscribe', { events: ['network.beforeRequestSent', 'log.entryAdded'] });
    await send('session.subscribe', { events: ['browsingContext.downloadWillBegin'] }).catch(() => {});
    await send('browsingContext.setViewport', { context, viewport: { width, height } });

    const callFunction = async (fn, arg) => {
      // The value comes back as JSON text: BiDi's own serialisation of results is richer than
      // the tests need and differs from WebDriver classic's.
      const r = await send('script.callFunction', {
        functionDeclaration: `async () => { const v = await ${callSource(fn, arg)}; return v === undefined ? '"__undefined"' : JSON.stringify(v); }`,
        awaitPromise: true,
        target: { context },
        userActivation: true,
      });
      if (r.type === 'exception') throw new Error(`in the page: ${r.exceptionDetails.text}`);
      const v = JSON.parse(r.result.value);
      return v === '__undefined' ? undefined : v;
    };
    const element = async (selector) => {
      const r = await send('script.evaluate', {
        expression: `document.querySelector(${JSON.stringify(selector)})`,
        awaitPromise: false,
        target: { context },
      });
      if (r.type === 'exception' || r.result.type !== 'node') throw new Error(`no element matches ${selector}`);
      return { sharedId: r.result.sharedId };
    };

    return {
      name: 'firefox',
      version: async () => callFunction(() => navigator.userAgent),
      async goto(url) {
        await send('browsingContext.navigate', { context, url, wait: 'interactive' });
      },
      async reload() {
        await send('browsingContext.reload', { context, wait: 'interactive' });
      },
      evaluate: callFunction,
      async click(selector) {
        const el = await element(selector);
        await whenClickable(callFunction, selector);
        await send('input.performActions', {
          context,
          actions: [{
            type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' },
            actions: [
              { type: 'pointerMove', x: 0, y: 0, origin: { type: 'element', element: el } },
              { type: 'pointerDown', button: 0 },
              { type: 'pointerUp', button: 0 },
            ],
          }],
        });
        await send('input.releaseActions', { context });
      },
      async setFiles(selector, files) {
        const dir = await mkdtemp(path.join(profile, 'upload-'));
        const paths = [];
        for (const f of files) {
          paths.push(path.join(dir, f.name));
          await writeFile(paths.at(-1), f.buffer);
        }
        await send('input.setFiles', { context, element: await element(selector), files: paths });
      },
      requests,
      errors: () => errors,
      clearErrors: (re) => { for (let i = errors.length - 1; i >= 0; i--) if (re.test(errors[i])) errors.splice(i, 1); },
      downloads: downloadsSeen,
      downloadDir: downloads,
      log: () => log,
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

// ---- WebKit over classic WebDriver ---------------------------------------------------------------

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * An HTTP proxy on 127.0.0.1 that the browser sends every request through: requests to
 * `appOrigin` are passed on, and every one is recorded; any other is answered 502 and recorded
 * (WebDriver classic has no network events, so this is how the WebKit tests see requests).
 */
async function recordingProxy(appOrigin) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url, method: req.method });
    let target;
    try { target = new URL(req.url); } catch { target = null; }
    if (!target || target.origin !== appOrigin) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('not the app\'s origin');
      return;
    }
    const upstream = http.request({
      host: target.hostname, port: target.port, path: target.pathname + target.search,
      method: req.method, headers: req.headers,
    }, (up) => {
      res.writeHead(up.statusCode, up.rawHeaders);
      up.pipe(res);
    });
    upstream.on('error', () => { res.destroy(); });
    req.pipe(upstream);
  });
  server.on('connect', (req, socket) => {
    requests.push({ url: `https://${req.url}/`, method: 'CONNECT' });
    socket.destroy();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    requests,
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

async function launchWebKit({ width, height, appOrigin, env: extra = {} }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'purrceptron-webkit-'));
  const children = [];
  let proxy;
  const cleanup = async () => {
    for (const c of children.reverse()) await killTree(c);
    await proxy?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // An X display of its own: -displayfd prints the number of the display it found free.
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${width}x${height + 100}x24`, '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true,
    });
    children.push(xvfb);
    const [, display] = await waitForLine(xvfb, xvfb.stdio[3], /^(\d+)\n/, 15_000, 'Xvfb');
    const port = await freePort();
    const driver = spawn(WEBKIT_DRIVER, [`--port=${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      env: { ...process.env, ...extra, DISPLAY: `:${display}` },
    });
    children.push(driver);
    let log = '';
    driver.stdout.on('data', (d) => { log = (log + d).slice(-20_000); });
    driver.stderr.on('data', (d) => { log = (log + d).slice(-20_000); });
    proxy = await recordingProxy(appOrigin);

    const base = `http://127.0.0.1:${port}`;
    const call = async (method, url, body) => {
      const r = await fetch(`${base}${url}`, {
        method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = await r.json();
      if (json.value && json.value.error) {
        throw new Error(`WebDriver ${method} ${url}: ${json.value.error}: ${json.value.message}`);
      }
      return json.value;
    };
    for (let i = 0; ; i++) {
      try { await call('GET', '/status'); break; } catch (e) {
        if (i > 100) throw new Error(`WebKitWebDriver did not answer: ${e.message}\n${log}`);
        await sleep(100);
      }
    }
    const { sessionId } = await call('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          proxy: { proxyType: 'manual', httpProxy: `127.0.0.1:${proxy.port}`, sslProxy: `127.0.0.1:${proxy.port}` },
          'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
          timeouts: { script: 120_000, pageLoad: 60_000, implicit: 0 },
        },
      },
    });
    const s = `/session/${sessionId}`;
    await call('POST', `${s}/window/rect`, { x: 0, y: 0, width, height }).catch(() => {});
    const evaluate = (fn, arg) => call('POST', `${s}/execute/sync`, { script: `return ${callSource(fn, arg)};`, args: [] });
    const element = async (selector) => {
      const v = await call('POST', `${s}/element`, { using: 'css selector', value: selector });
      return Object.values(v)[0];
    };
    // WebDriver classic reports no console messages: the page's errors are caught in the page
    // from the moment each document is loaded (see errorHook).
    const pageErrors = [];
    const collect = async () => {
      const got = await evaluate(() => {
        const e = window.__engineErrors ?? [];
        window.__engineErrors = [];
        return e;
      }).catch(() => []);
      pageErrors.push(...got);
    };
    const hook = () => evaluate(errorHook);
    const result = {
      name: 'webkit',
      version: async () => evaluate(() => navigator.userAgent),
      async goto(url) {
        await call('POST', `${s}/url`, { url });
        await hook();
      },
      async reload() {
        await collect();
        await call('POST', `${s}/refresh`, {});
        await hook();
      },
      evaluate,
      async click(selector) {
        const el = await element(selector);
        await whenClickable(evaluate, selector);
        await call('POST', `${s}/element/${el}/click`, {});
      },
      async setFiles(selector, files) {
        const up = await mkdtemp(path.join(dir, 'upload-'));
        const paths = [];
        for (const f of files) {
          paths.push(path.join(up, f.name));
          await writeFile(paths.at(-1), f.buffer);
        }
        await call('POST', `${s}/element/${await element(selector)}/value`, { text: paths.join('\n') });
      },
      requests: proxy.requests,
      errors: () => pageErrors,
      async collectErrors() { await collect(); return pageErrors; },
      clearErrors: (re) => { for (let i = pageErrors.length - 1; i >= 0; i--) if (re.test(pageErrors[i])) pageErrors.splice(i, 1); },
      log: () => log,
      async close() {
        await call('DELETE', s).catch(() => {});
        await cleanup();
      },
    };
    return result;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/**
 * Waits, as Playwright does before a click, until the element is in view, has kept its place
 * for two frames and 50 ms, and is what a click at its centre hits: the page lays out results as they
 * arrive, and a button that moves between the press and the release is not clicked.
 */
async function whenClickable(evaluate, selector, timeout = 10_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const state = await evaluate(async (sel) => {
      const target = document.querySelector(sel);
      if (!target) return `no element matches ${sel}`;
      target.scrollIntoView({ block: 'center' });
      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
      const a = target.getBoundingClientRect();
      await frame();
      await frame();
      await new Promise((r) => setTimeout(r, 50));
      const b = target.getBoundingClientRect();
      if (a.x !== b.x || a.y !== b.y || a.width !== b.width || a.height !== b.height) return 'moving';
      if (b.width === 0 || b.height === 0) return 'not displayed';
      const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
      return target.contains(hit) ? 'ok' : `covered by ${hit ? hit.outerHTML.slice(0, 200) : 'nothing'}`;
    }, selector);
    if (state === 'ok') return;
    if (Date.now() > end) throw new Error(`cannot click ${selector}: ${state}`);
    await sleep(50);
  }
}

/** Installed in each document: console errors and uncaught errors, kept for the test to read. */
function errorHook() {
  if (window.__engineErrors) return;
  window.__engineErrors = [];
  const original = console.error.bind(console);
  console.error = (...args) => {
    window.__engineErrors.push(`console: ${args.map(String).join(' ')}`);
    original(...args);
  };
  window.addEventListener('error', (e) => window.__engineErrors.push(`pageerror: ${e.message}`));
  window.addEventListener('unhandledrejection', (e) => window.__engineErrors.push(`pageerror: ${e.reason}`));
  document.addEventListener('securitypolicyviolation', (e) => window.__engineErrors.push(`csp: ${e.violatedDirective} ${e.blockedURI}`));
}

/**
 * Starts `engine` ('firefox' or 'webkit') with a fresh profile. For an engine with a feature
 * turned off: `prefs`, more Firefox preferences; `env`, more environment for WebKit's processes
 * (JavaScriptCore reads its options from JSC_* variables).
 */
export async function launch(engine, { width = 1280, height = 900, appOrigin, prefs, env } = {}) {
  if (engine === 'firefox' && !env) return launchFirefox({ width, height, prefs });
  if (engine === 'webkit' && !prefs) return launchWebKit({ width, height, appOrigin, env });
  if (ENGINES.includes(engine)) throw new Error(`${engine}: prefs are Firefox's, env is WebKit's`);
  throw new Error(`unknown engine ${engine}`);
}

/** Polls `fn(arg)` in the page until it returns something truthy; returns that. */
export async function waitFor(browser, fn, arg, { timeout = 30_000, interval = 50, what } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await browser.evaluate(fn, arg);
      if (last) return last;
    } catch (e) {
      // A document being replaced (a reload) cannot answer for a moment.
      last = e.message;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what ?? fn.toString()} (last: ${JSON.stringify(last)})`);
    await sleep(interval);
  }
}

// ---- the page ------------------------------------------------------------------------------------

/**
 * Starts the server and `engine` with a fresh profile, opens the page (`?test` with `test`) and
 * waits for `ready`. Returns {browser, server, url, readyMs, close()}.
 */
export async function openAppIn(engine, { test = false, dir, log = false, width, height } = {}) {
  const { startServer } = await import('./helpers.js');
  const server = await startServer({ dir, log });
  let browser;
  try {
    browser = await launch(engine, { width, height, appOrigin: new URL(server.url).origin });
  } catch (e) {
    await server.stop();
    throw e;
  }
  const app = {
    engine,
    browser,
    server,
    url: server.url,
    async close() {
      await browser.close();
      await server.stop();
    },
  };
  try {
    const t0 = Date.now();
    await browser.goto(test ? `${server.url}?test` : server.url);
    await waitForStatus(browser, 'ready', 60_000);
    app.readyMs = Date.now() - t0;
  } catch (e) {
    await app.close();
    throw e;
  }
  return app;
}

const statusOf = () => ({
  status: document.querySelector('[data-testid=status]')?.textContent,
  error: document.querySelector('[data-testid=error]')?.textContent,
});

/** Waits until the status element reads `name`; on timeout says what it reads instead. */
export async function waitForStatus(browser, name, timeout = 30_000) {
  try {
    await waitFor(browser, (want) => document.querySelector('[data-testid=status]')?.textContent === want, name,
      { timeout, interval: 20 });
  } catch (e) {
    const now = await browser.evaluate(statusOf).catch(() => ({}));
    throw new Error(`${browser.name}: status did not become '${name}' within ${timeout} ms: it is '${now.status}' (error area: '${now.error}')`);
  }
}

/** Sets a form field's value as typing or choosing would, with its input and change events. */
export async function fill(browser, selector, value) {
  await browser.evaluate(([sel, v]) => {
    const el = document.querySelector(sel);
    if (!el) throw new Error(`no element matches ${sel}`);
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, [selector, String(value)]);
}

/** Selects a model, fills the fields given, presses Train (without waiting for the end). */
export async function startTraining(browser, { model = 'lr', iters, lr, seed, hidden } = {}) {
  await fill(browser, '[data-testid=model]', model);
  if (hidden !== undefined) await fill(browser, '#hidden', hidden);
  if (iters !== undefined) await fill(browser, '[data-testid=iters]', iters);
  if (lr !== undefined) await fill(browser, '[data-testid=lr]', lr);
  if (seed !== undefined) await fill(browser, '[data-testid=seed]', seed);
  // Every status the click leads to, so that waiting for 'trained' cannot see the last run's.
  await browser.evaluate(() => {
    const status = document.querySelector('[data-testid=status]');
    window.__statuses = [];
    window.__statusObserver?.disconnect();
    window.__statusObserver = new MutationObserver(() => window.__statuses.push(status.textContent));
    window.__statusObserver.observe(status, { childList: true, characterData: true, subtree: true });
  });
  await browser.click('[data-testid=train]');
}

/** Waits until the status has changed since startTraining and reads `name`. */
export async function waitForNewStatus(browser, name, timeout = 30_000) {
  try {
    await waitFor(browser, (want) => window.__statuses?.length > 0
      && document.querySelector('[data-testid=status]')?.textContent === want, name, { timeout, interval: 20 });
  } catch (e) {
    const now = await browser.evaluate(() => ({
      status: document.querySelector('[data-testid=status]')?.textContent,
      error: document.querySelector('[data-testid=error]')?.textContent,
      seen: window.__statuses,
    })).catch(() => ({}));
    throw new Error(`${browser.name}: status did not become '${name}' within ${timeout} ms: it is '${now.status}' ` +
      `(statuses since the click: ${JSON.stringify(now.seen)}; error area: '${now.error}')`);
  }
}

/** Trains and waits for `trained`; returns the accuracies as shown. */
export async function train(browser, options = {}, timeout = 120_000) {
  await startTraining(browser, options);
  await waitForNewStatus(browser, 'trained', timeout);
  return browser.evaluate(() => ({
    train: document.querySelector('[data-testid=train-accuracy]').textContent,
    test: document.querySelector('[data-testid=test-accuracy]').textContent,
  }));
}

/** Settled result cards (classified or failed), newest batch first, as plain objects. */
export async function settledCards(browser) {
  const cards = await browser.evaluate(() => [...document.querySelectorAll('[data-testid=result]')]
    .filter((c) => c.dataset.state === 'done' || c.dataset.state === 'error')
    .map((c) => ({
      name: c.querySelector('.card-name')?.textContent,
      by: c.dataset.by,
      probabilityText: c.dataset.probability,
      label: c.dataset.label,
      error: c.dataset.error,
    })));
  // WebDriver classic sends a missing value as null, BiDi's JSON leaves it out: both mean none.
  return cards.map((c) => {
    const card = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null && v !== undefined));
    if (card.probabilityText !== undefined) card.probability = Number(card.probabilityText);
    return card;
  });
}

/** Waits until `n` result cards exist and each is classified or failed. */
export async function waitForCards(browser, n, timeout = 60_000) {
  await waitFor(browser, (want) => {
    const cards = document.querySelectorAll('[data-testid=result]');
    return cards.length === want && [...cards].every((c) => c.dataset.state === 'done' || c.dataset.state === 'error');
  }, n, { timeout, what: `${n} settled result cards` });
  return settledCards(browser);
}

/** Gives files to the photo input, as a person choosing them would. */
export const chooseFiles = (browser, files, selector = '[data-testid=photos]') => browser.setFiles(selector, files);

/** Console errors and uncaught errors so far, or null. */
export async function noErrors(app) {
  const errors = app.browser.collectErrors ? await app.browser.collectErrors() : app.browser.errors();
  return errors.length === 0 ? null : errors.join('\n');
}
