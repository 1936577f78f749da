// The static server as a browser meets it: validators and 304s, gzip siblings for clients that
// accept them (and only the fresh ones), and the security headers on every answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { ROOT, startServer } from './helpers.js';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

/** A raw GET (no automatic decompression): {status, headers, body: Buffer}. */
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

const FILES = ['pkg/purrceptron_bg.wasm', 'main.js', 'data/catvnoncat.safetensors', 'index.html'];

test('the build wrote gzip siblings, and the server sends them to clients that accept gzip', async () => {
  for (const file of FILES) {
    const original = readFileSync(path.join(ROOT, 'www', file));
    assert.ok(existsSync(path.join(ROOT, 'www', `${file}.gz`)), `${file}.gz`);
    const zipped = await get(`${server.url}${file}`, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(zipped.status, 200);
    assert.equal(zipped.headers['content-encoding'], 'gzip', file);
    assert.equal(zipped.headers.vary, 'Accept-Encoding');
    assert.ok(gunzipSync(zipped.body).equals(original), `${file}: the gzip body is not the file`);
    const plain = await get(`${server.url}${file}`, { 'accept-encoding': 'identity' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.equals(original));
    assert.notEqual(plain.headers.etag, zipped.headers.etag, 'two representations, two validators');
    console.log(`${file}: ${original.length} bytes, ${zipped.body.length} gzipped (${(100 * zipped.body.length / original.length).toFixed(0)}%)`);
  }
  // The backbone is sent as it is (its download shows progress against its length).
  const backbone = await get(`${server.url}data/backbone.safetensors`, { 'accept-encoding': 'gzip' });
  assert.equal(backbone.headers['content-encoding'], undefined);
});

test('a copy the browser holds costs a 304 without a body, with the same headers', async () => {
  const first = await get(`${server.url}pkg/purrceptron_bg.wasm`, { 'accept-encoding': 'gzip' });
  const etag = first.headers.etag;
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+-gz"$/);
  const again = await get(`${server.url}pkg/purrceptron_bg.wasm`, { 'accept-encoding': 'gzip', 'if-none-match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  assert.equal(again.headers.etag, etag);
  assert.equal(again.headers['cache-control'], 'no-cache');
  assert.match(again.headers['content-security-policy'], /^default-src 'self'/);
  // Another validator (another build): the whole file.
  const stale = await get(`${server.url}pkg/purrceptron_bg.wasm`, { 'accept-encoding': 'gzip', 'if-none-match': '"0-0-gz"' });
  assert.equal(stale.status, 200);
  assert.ok(stale.body.length > 0);
  // Missing files and escapes are still what they were.
  assert.equal((await get(`${server.url}nothing-here.js`)).status, 404);
  // (A raw path: a URL would resolve the dots before sending.)
  const { port } = new URL(server.url);
  const escape = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/%2e%2e/Cargo.toml' }, (res) => { res.resume(); resolve(res.statusCode); })
      .on('error', reject);
  });
  assert.equal(escape, 400);
});
