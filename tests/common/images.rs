//! Shared by the preprocessing tests: images generated in memory (hand-built PNG, JPEG and EXIF
//! bytes, test pictures), the checks on a 64 x 64 result, and per-thread allocation accounting.
//!
//! The accounting is only active in a test binary that registers it:
//! `#[global_allocator] static ALLOCATOR: common::images::Counting = common::images::Counting;`
//! (elsewhere `peak_alloc` measures nothing).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicIsize, AtomicUsize};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use purrceptron::preprocess::{Photo, MAX_SIDE, SIDE};
use purrceptron::Error;
use sha2::{Digest, Sha256};

// ---- allocation accounting -------------------------------------------------------------------
//
// Per measuring thread, so that parallel tests do not disturb each other. Every block carries a
// header naming the accounting slot of the thread that allocated it, so that a block freed by
// another thread (jpeg-decoder hands rows of coefficients to worker threads natively) is still
// taken off its owner's count. Blocks allocated by other threads (those workers' small
// reduced-size planes) are not counted: only what the measured thread allocates.

/// The counting allocator (see the module docs for how a test binary registers it).
pub struct Counting;

/// Slot 0 collects every thread that never called `peak_alloc`.
const SLOTS: usize = 256;
static LIVE: [AtomicIsize; SLOTS] = [const { AtomicIsize::new(0) }; SLOTS];
static PEAK: [AtomicIsize; SLOTS] = [const { AtomicIsize::new(0) }; SLOTS];
/// The largest single block (or realloc'ed size) allocated since the last `largest_alloc`.
static LARGEST: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(0) };
}

fn my_slot() -> usize {
    SLOT.try_with(Cell::get).unwrap_or(0)
}

fn account(slot: usize, delta: isize) {
    // (Never panics in the allocator: a slot is always < SLOTS.)
    let (Some(live), Some(peak)) = (LIVE.get(slot), PEAK.get(slot)) else {
        return;
    };
    let now = live.fetch_add(delta, Relaxed) + delta;
    if delta > 0 {
        peak.fetch_max(now, Relaxed);
    }
}

fn note_block(slot: usize, size: usize) {
    if let Some(largest) = LARGEST.get(slot) {
        largest.fetch_max(size, Relaxed);
    }
}

/// Bytes in front of each block: a multiple of its alignment, with the slot in the last 8.
fn header(layout: Layout) -> usize {
    layout.align().max(16)
}

fn outer(layout: Layout, size: usize) -> Layout {
    Layout::from_size_align(size + header(layout), header(layout)).unwrap()
}

/// Puts the owner's slot in front of a block just allocated at `base` (null passes through)
/// and counts it.
///
/// # Safety
/// `base` is null or a block of `outer(layout, layout.size())`.
unsafe fn register(base: *mut u8, layout: Layout) -> *mut u8 {
    if base.is_null() {
        return base;
    }
    let p = base.add(header(layout));
    let slot = my_slot();
    p.sub(8).cast::<usize>().write(slot);
    account(slot, layout.size() as isize);
    note_block(slot, layout.size());
    p
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        register(System.alloc(outer(layout, layout.size())), layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        register(System.alloc_zeroed(outer(layout, layout.size())), layout)
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let slot = p.sub(8).cast::<usize>().read();
        System.dealloc(p.sub(header(layout)), outer(layout, layout.size()));
        account(slot, -(layout.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let slot = p.sub(8).cast::<usize>().read();
        let base = System.realloc(
            p.sub(header(layout)),
            outer(layout, layout.size()),
            new_size + header(layout),
        );
        if base.is_null() {
            return base;
        }
        account(slot, new_size as isize - layout.size() as isize);
        note_block(slot, new_size);
        base.add(header(layout))
    }
}

/// Runs `f` and returns its result with the peak number of bytes it had allocated at once
/// (on this thread, above what was live before).
pub fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let mut slot = my_slot();
    if slot == 0 {
        slot = 1 + NEXT_SLOT.fetch_add(1, Relaxed) % (SLOTS - 1);
        SLOT.with(|s| s.set(slot));
    }
    let base = LIVE[slot].load(Relaxed);
    PEAK[slot].store(base, Relaxed);
    LARGEST[slot].store(0, Relaxed);
    let out = f();
    let peak = PEAK[slot].load(Relaxed);
    (out, (peak - base).max(0) as usize)
}

/// The largest single block this thread allocated during the last `peak_alloc`, in bytes.
pub fn largest_alloc() -> usize {
    LARGEST[my_slot()].load(Relaxed)
}

pub const MB: usize = 1 << 20;

// ---- helpers -------------------------------------------------------------------------------

pub const RED: [u8; 3] = [255, 0, 0];
pub const GREEN: [u8; 3] = [0, 255, 0];
pub const BLUE: [u8; 3] = [0, 0, 255];
pub const WHITE: [u8; 3] = [255, 255, 255];

pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .unwrap();
    out
}

/// Left half red, right half blue.
pub fn red_blue(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| Rgb(if x < w / 2 { RED } else { BLUE }))
}

pub fn px(p: &Photo, row: usize, col: usize) -> [u8; 3] {
    let i = (row * SIDE + col) * 3;
    [p.pixels[i], p.pixels[i + 1], p.pixels[i + 2]]
}

pub fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

/// Asserts that every pixel of the columns `cols` is within `tol` of `colour`.
pub fn assert_cols(p: &Photo, cols: std::ops::RangeInclusive<usize>, colour: [u8; 3], tol: u8) {
    for row in 0..SIDE {
        for col in cols.clone() {
            let got = px(p, row, col);
            assert!(
                close(got, colour, tol),
                "pixel (row {row}, col {col}) = {got:?}, expected {colour:?} +- {tol}"
            );
        }
    }
}

pub fn assert_rows(p: &Photo, rows: std::ops::RangeInclusive<usize>, colour: [u8; 3], tol: u8) {
    for row in rows {
        for col in 0..SIDE {
            let got = px(p, row, col);
            assert!(
                close(got, colour, tol),
                "pixel (row {row}, col {col}) = {got:?}, expected {colour:?} +- {tol}"
            );
        }
    }
}

fn crc32(parts: &[&[u8]]) -> u32 {
    let mut table = [0u32; 256];
    for (n, t) in table.iter_mut().enumerate() {
        let mut c = n as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    let mut crc = !0u32;
    for part in parts {
        for &b in *part {
            crc = table[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    !crc
}

pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// A PNG with the given IHDR fields and IDAT payload.
pub fn png_file(w: u32, h: u32, bit_depth: u8, colour_type: u8, idat: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, colour_type, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// Writes `len` bits of `code` (Huffman codes go most significant bit first) into a deflate
/// bit stream (filled from the least significant bit of each byte).
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn huffman(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.raw((code >> i) & 1, 1);
        }
    }
    fn raw(&mut self, value: u32, len: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A zlib stream of `n` zero bytes (n >= 1), compressed as one fixed-Huffman deflate block:
/// a literal 0, then copies of 258 bytes at distance 1 (13 bits per 258 bytes: 900 MB -> 5.7 MB).
pub fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.raw(1, 1); // BFINAL
    bits.raw(1, 2); // BTYPE = 01, fixed Huffman
    bits.huffman(0b0011_0000, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        bits.huffman(0b1100_0101, 8); // length code 285 = 258
        bits.huffman(0, 5); // distance code 0 = 1
        left -= 258;
    }
    for _ in 0..left {
        bits.huffman(0b0011_0000, 8);
    }
    bits.huffman(0, 7); // end of block (256)
    let mut out = bits.finish();
    // Adler-32 of n zeros: A = 1, B = n * 1.
    let adler = ((n % 65521) << 16 | 1) as u32;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

/// A real 8-bit greyscale PNG, all black, of any size: rows of zeros (filter byte 0 included).
pub fn black_png(w: u32, h: u32) -> Vec<u8> {
    png_file(w, h, 8, 0, &zlib_zeros((u64::from(w) + 1) * u64::from(h)))
}

pub fn unsupported(result: Result<Photo, Error>) -> String {
    match result {
        Err(Error::UnsupportedImage(message)) => message,
        Err(other) => panic!("expected UnsupportedImage, got {other:?}"),
        Ok(p) => panic!("expected UnsupportedImage, got a {} photo", p.format),
    }
}

/// `(width, height, max_pixels)` of an [`Error::ImageTooLarge`] under the default limits.
pub fn too_large(result: Result<Photo, Error>) -> (u64, u64, u64) {
    let (width, height, max_side, max_pixels) = too_large_with(result);
    assert_eq!(max_side, MAX_SIDE);
    (width, height, max_pixels)
}

/// `(width, height, max_side, max_pixels)` of an [`Error::ImageTooLarge`].
pub fn too_large_with(result: Result<Photo, Error>) -> (u64, u64, u32, u64) {
    match result {
        Err(Error::ImageTooLarge {
            width,
            height,
            max_side,
            max_pixels,
        }) => (width, height, max_side, max_pixels),
        Err(other) => panic!("expected ImageTooLarge, got {other:?}"),
        Ok(p) => panic!("expected ImageTooLarge, got a {} photo", p.format),
    }
}
// ---- EXIF orientation ------------------------------------------------------------------------

/// An APP1 "Exif" segment whose IFD0 holds only Orientation (tag 0x0112, SHORT) = `value`.
pub fn exif_app1(value: u16, big_endian: bool) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut tiff = Vec::new();
    tiff.extend_from_slice(if big_endian { b"MM" } else { b"II" });
    tiff.extend_from_slice(&u16b(42));
    tiff.extend_from_slice(&u32b(8)); // IFD0 right after the header
    tiff.extend_from_slice(&u16b(1)); // one entry
    tiff.extend_from_slice(&u16b(0x0112)); // Orientation
    tiff.extend_from_slice(&u16b(3)); // SHORT
    tiff.extend_from_slice(&u32b(1)); // count
    tiff.extend_from_slice(&u16b(value));
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&u32b(0)); // no next IFD
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    seg.extend_from_slice(&payload);
    seg
}

/// Inserts the APP1 segment right after the JPEG's SOI marker.
pub fn with_exif(jpeg: &[u8], orientation: u16, big_endian: bool) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&exif_app1(orientation, big_endian));
    out.extend_from_slice(&jpeg[2..]);
    out
}

// ---- large JPEGs: reduced-scale decoding ------------------------------------------------------

/// A photo-like test picture: gradients with sharp wrap-around edges and per-pixel noise (the
/// picture of `purrceptron bench`).
pub fn busy_picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 28;
        let (cx, cy) = (w as i32 / 2, h as i32 / 2);
        Rgb([
            ((x / 16 + y / 32) % 256) as u8 ^ n as u8,
            ((x * y / 9000) % 256) as u8,
            (128 + (x as i32 - cx).abs() / 16 - (y as i32 - cy).abs() / 24).clamp(0, 255) as u8,
        ])
    })
}

/// A baseline JPEG of one uniform colour with `components` 1x1-sampled components of the stored
/// values `values` (quantisation 1, DC only), and an Adobe APP14 segment with `transform`
/// (0: CMYK or RGB, 1: YCbCr, 2: YCCK) if given.
pub fn uniform_jpeg(w: u16, h: u16, values: &[u8], transform: Option<u8>) -> Vec<u8> {
    let n = values.len() as u8;
    let mut j = vec![0xFF, 0xD8];
    if let Some(t) = transform {
        j.extend_from_slice(&[0xFF, 0xEE, 0, 14]);
        j.extend_from_slice(b"Adobe");
        j.extend_from_slice(&[0, 100, 0, 0, 0, 0, t]);
    }
    j.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
    j.extend_from_slice(&[1; 64]);
    j.extend_from_slice(&[0xFF, 0xC0, 0, 8 + 3 * n, 8]);
    j.extend_from_slice(&h.to_be_bytes());
    j.extend_from_slice(&w.to_be_bytes());
    j.push(n);
    for c in 1..=n {
        j.extend_from_slice(&[c, 0x11, 0]);
    }
    // DC table 0: categories 0..=11, all 4-bit codes (code = category); AC table 0: EOB = "0".
    j.extend_from_slice(&[0xFF, 0xC4, 0, 2 + 29 + 18, 0x00]);
    j.extend_from_slice(&[0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    j.extend_from_slice(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    j.push(0x10);
    j.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    j.push(0x00);
    j.extend_from_slice(&[0xFF, 0xDA, 0, 6 + 2 * n, n]);
    for c in 1..=n {
        j.extend_from_slice(&[c, 0x00]);
    }
    j.extend_from_slice(&[0, 63, 0]);
    // Entropy-coded data, most significant bit first, 0xFF stuffed with 0x00.
    let mut bits: Vec<bool> = Vec::new();
    let put = |bits: &mut Vec<bool>, value: u32, len: u32| {
        for i in (0..len).rev() {
            bits.push((value >> i) & 1 == 1);
        }
    };
    let blocks = usize::from(w.div_ceil(8)) * usize::from(h.div_ceil(8));
    for block in 0..blocks {
        for &v in values {
            // DC coefficient (v - 128) * 8 (an 8x8 block of v); the first block codes it as a
            // difference from 0, the others repeat it (difference 0).
            let diff = if block == 0 {
                (i32::from(v) - 128) * 8
            } else {
                0
            };
            let category = 32 - diff.unsigned_abs().leading_zeros();
            put(&mut bits, category, 4);
            let extra = if diff >= 0 {
                diff
            } else {
                diff + (1 << category) - 1
            };
            put(&mut bits, extra as u32, category);
            put(&mut bits, 0, 1); // EOB
        }
    }
    while bits.len() % 8 != 0 {
        bits.push(true);
    }
    for byte in bits.chunks(8) {
        let b = byte.iter().fold(0u8, |acc, &bit| acc << 1 | u8::from(bit));
        j.push(b);
        if b == 0xFF {
            j.push(0);
        }
    }
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

/// SHA-256 of a photo's pixels, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
