// Files that a person might drop and that are hard to read, made from scratch: PNGs of every
// colour type, a decompression bomb, absurd headers, a CMYK JPEG, an animated GIF, HEIC/AVIF
// headers. JPEG and WebP encoders are the page's own (canvas), see `canvasPhoto`.

import { deflateSync } from 'node:zlib';
import { pngChunk } from './helpers.js';


/** A PNG with the given IHDR fields and an already compressed IDAT payload. */
export function pngFile(width, height, bitDepth, colourType, idat) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A PNG of `width` x `height` whose samples are `sample(x, y, channel)` (0..1), with
 * `channels` = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) and 8 or 16 bits per sample.
 */
export function png(width, height, channels, bitDepth, sample) {
  const colourType = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels];
  const bytes = bitDepth / 8;
  const stride = width * channels * bytes + 1;
  const raw = Buffer.alloc(stride * height);
  const max = bitDepth === 16 ? 65535 : 255;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = Math.round(Math.min(1, Math.max(0, sample(x, y, c))) * max);
        const at = y * stride + 1 + (x * channels + c) * bytes;
        if (bytes === 2) raw.writeUInt16BE(v, at);
        else raw[at] = v;
      }
    }
  }
  return pngFile(width, height, bitDepth, colourType, deflateSync(raw));
}

/** Writes deflate bits: Huffman codes most significant bit first, into bytes from bit 0. */
class Bits {
  constructor(prefix) { this.out = [...prefix]; this.acc = 0; this.n = 0; }
  raw(value, len) {
    for (let i = 0; i < len; i++) this.bit((value >> i) & 1);
  }
  huffman(code, len) {
    for (let i = len - 1; i >= 0; i--) this.bit((code >> i) & 1);
  }
  bit(b) {
    this.acc |= b << this.n;
    if (++this.n === 8) { this.out.push(this.acc); this.acc = 0; this.n = 0; }
  }
  finish() {
    if (this.n > 0) this.out.push(this.acc);
    return Buffer.from(this.out);
  }
}

/**
 * A zlib stream of `n` zero bytes as one fixed-Huffman block (a literal 0, then copies of 258
 * bytes at distance 1): 900 MB of zeros in 5.7 MB. The same construction as the native tests.
 */
export function zlibZeros(n) {
  const bits = new Bits([0x78, 0x01]);
  bits.raw(1, 1); // BFINAL
  bits.raw(1, 2); // fixed Huffman
  bits.huffman(0b00110000, 8); // literal 0
  let left = n - 1;
  while (left >= 258) {
    bits.huffman(0b11000101, 8); // length 258
    bits.huffman(0, 5); // distance 1
    left -= 258;
  }
  for (; left > 0; left--) bits.huffman(0b00110000, 8);
  bits.huffman(0, 7); // end of block
  const out = bits.finish();
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((n % 65521) * 65536) + 1) >>> 0);
  return Buffer.concat([out, adler]);
}

/** An all-black 8-bit grey PNG of any size: a decompression bomb when large. */
export const blackPng = (w, h) => pngFile(w, h, 8, 0, zlibZeros((w + 1) * h));

/**
 * A baseline JPEG of one uniform colour: `values` are the stored component values (4 for CMYK),
 * an Adobe APP14 segment with `transform` (0: CMYK, 2: YCCK). Quantisation 1, DC only; the same
 * construction as the native tests' `uniform_jpeg`.
 */
export function uniformJpeg(w, h, values, transform) {
  const n = values.length;
  const j = [0xff, 0xd8];
  if (transform !== undefined) j.push(0xff, 0xee, 0, 14, ...Buffer.from('Adobe'), 0, 100, 0, 0, 0, 0, transform);
  j.push(0xff, 0xdb, 0, 67, 0, ...new Array(64).fill(1));
  j.push(0xff, 0xc0, 0, 8 + 3 * n, 8, h >> 8, h & 255, w >> 8, w & 255, n);
  for (let c = 1; c <= n; c++) j.push(c, 0x11, 0);
  j.push(0xff, 0xc4, 0, 2 + 29 + 18, 0x00, 0, 0, 0, 12, ...new Array(12).fill(0), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
  j.push(0x10, 1, ...new Array(15).fill(0), 0x00);
  j.push(0xff, 0xda, 0, 6 + 2 * n, n);
  for (let c = 1; c <= n; c++) j.push(c, 0x00);
  j.push(0, 63, 0);
  const bits = [];
  const put = (value, len) => { for (let i = len - 1; i >= 0; i--) bits.push((value >> i) & 1); };
  const blocks = Math.ceil(w / 8) * Math.ceil(h / 8);
  for (let block = 0; block < blocks; block++) {
    for (const v of values) {
      const diff = block === 0 ? (v - 128) * 8 : 0;
      const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      put(category, 4);
      put(diff >= 0 ? diff : diff + (1 << category) - 1, category);
      put(0, 1); // end of block
    }
  }
  while (bits.length % 8) bits.push(1);
  for (let i = 0; i < bits.length; i += 8) {
    const b = bits.slice(i, i + 8).reduce((acc, bit) => (acc << 1) | bit, 0);
    j.push(b);
    if (b === 0xff) j.push(0);
  }
  j.push(0xff, 0xd9);
  return Buffer.from(j);
}

/**
 * A GIF of `frames` (each `{width, height, index(x, y)}` into a 128-colour `palette` of
 * [r, g, b]), looping (NETSCAPE2.0) when there are several. LZW with a clear code every 126
 * codes keeps every code 8 bits wide, so no real compression is needed.
 */
export function gif(width, height, palette, frames) {
  const out = [...Buffer.from('GIF89a'), width & 255, width >> 8, height & 255, height >> 8, 0xf6, 0, 0];
  for (let i = 0; i < 128; i++) out.push(...(palette[i] ?? [0, 0, 0]));
  if (frames.length > 1) out.push(0x21, 0xff, 11, ...Buffer.from('NETSCAPE2.0'), 3, 1, 0, 0, 0);
  for (const f of frames) {
    out.push(0x21, 0xf9, 4, 0x04, 10, 0, 0, 0); // 0.1 s a frame, keep the previous one
    out.push(0x2c, 0, 0, 0, 0, width & 255, width >> 8, height & 255, height >> 8, 0);
    const codes = [];
    let sinceClear = 0;
    codes.push(128); // clear
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        codes.push(f(x, y));
        if (++sinceClear === 126) { codes.push(128); sinceClear = 0; }
      }
    }
    codes.push(129); // end of information
    const data = Buffer.from(codes);
    out.push(7); // minimum code size: 7 bits, codes of 8
    for (let i = 0; i < data.length; i += 255) {
      const part = data.subarray(i, i + 255);
      out.push(part.length, ...part);
    }
    out.push(0);
  }
  out.push(0x3b);
  return Buffer.from(out);
}

/** The start of an ISO-BMFF image (`ftyp` box, then an empty `meta`): HEIC or AVIF bytes. */
export function ftyp(major, compatible) {
  const b = Buffer.alloc(16 + 4 * compatible.length);
  b.writeUInt32BE(b.length, 0);
  b.write('ftyp', 4, 'latin1');
  b.write(major, 8, 'latin1');
  compatible.forEach((c, i) => b.write(c, 16 + 4 * i, 'latin1'));
  return Buffer.concat([b, Buffer.from([0, 0, 0, 8, 0x6d, 0x65, 0x74, 0x61, 0, 0, 0, 0])]);
}

/** An APP1 Exif segment holding only Orientation = `value`, inserted after the JPEG's SOI. */
export function withExifOrientation(jpeg, value) {
  const tiff = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, value, 0, 0, 0, 0, 0, 0, 0]);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 255]), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

/**
 * A photo encoded by the page's canvas (`type`: image/jpeg or image/webp) of `width` x
 * `height`: the 64x64 RGB `image` stretched over it. Resolves with the file's bytes.
 */
export async function canvasPhoto(page, image, width, height, type = 'image/jpeg', quality = 0.9) {
  const base64 = await page.evaluate(async ({ rgb, width, height, type, quality }) => {
    const small = new OffscreenCanvas(64, 64);
    const data = new Uint8ClampedArray(64 * 64 * 4);
    for (let i = 0; i < 64 * 64; i++) {
      data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
    }
    small.getContext('2d').putImageData(new ImageData(data, 64, 64), 0, 0);
    const big = new OffscreenCanvas(width, height);
    big.getContext('2d').drawImage(small, 0, 0, width, height);
    const blob = await big.convertToBlob({ type, quality });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, { rgb: Array.from(image.rgb), width, height, type, quality });
  return Buffer.from(base64, 'base64');
}
