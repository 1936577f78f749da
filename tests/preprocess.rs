//! Integration tests of `purrceptron::preprocess`: every image is generated here, in memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicIsize, AtomicUsize};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use purrceptron::preprocess::{
    max_pixels_for, preprocess, to_png, Framing, Photo, MAX_DECODE_BYTES, MAX_PIXELS, MAX_SIDE,
    PIXELS, SIDE,
};
use purrceptron::Error;

// ---- allocation accounting -------------------------------------------------------------------
//
// Per measuring thread, so that parallel tests do not disturb each other. Every block carries a
// header naming the accounting slot of the thread that allocated it, so that a block freed by
// another thread (jpeg-decoder hands rows of coefficients to worker threads natively) is still
// taken off its owner's count. Blocks allocated by other threads (those workers' small
// reduced-size planes) are not counted: only what the measured thread allocates.

struct Counting;

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

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = System.alloc(outer(layout, layout.size()));
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
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let base = System.alloc_zeroed(outer(layout, layout.size()));
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

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak number of bytes it had allocated at once
/// (on this thread, above what was live before).
fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
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
fn largest_alloc() -> usize {
    LARGEST[my_slot()].load(Relaxed)
}

const MB: usize = 1 << 20;

// ---- helpers -------------------------------------------------------------------------------

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .unwrap();
    out
}

/// Left half red, right half blue.
fn red_blue(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| Rgb(if x < w / 2 { RED } else { BLUE }))
}

fn px(p: &Photo, row: usize, col: usize) -> [u8; 3] {
    let i = (row * SIDE + col) * 3;
    [p.pixels[i], p.pixels[i + 1], p.pixels[i + 2]]
}

fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

/// Asserts that every pixel of the columns `cols` is within `tol` of `colour`.
fn assert_cols(p: &Photo, cols: std::ops::RangeInclusive<usize>, colour: [u8; 3], tol: u8) {
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

fn assert_rows(p: &Photo, rows: std::ops::RangeInclusive<usize>, colour: [u8; 3], tol: u8) {
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

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// A PNG with the given IHDR fields and IDAT payload.
fn png_file(w: u32, h: u32, bit_depth: u8, colour_type: u8, idat: &[u8]) -> Vec<u8> {
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
fn zlib_zeros(n: u64) -> Vec<u8> {
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
fn black_png(w: u32, h: u32) -> Vec<u8> {
    png_file(w, h, 8, 0, &zlib_zeros((u64::from(w) + 1) * u64::from(h)))
}

fn unsupported(result: Result<Photo, Error>) -> String {
    match result {
        Err(Error::UnsupportedImage(message)) => message,
        Err(other) => panic!("expected UnsupportedImage, got {other:?}"),
        Ok(p) => panic!("expected UnsupportedImage, got a {} photo", p.format),
    }
}

fn too_large(result: Result<Photo, Error>) -> (u64, u64, u64) {
    match result {
        Err(Error::ImageTooLarge {
            width,
            height,
            max_side,
            max_pixels,
        }) => {
            assert_eq!(max_side, MAX_SIDE);
            (width, height, max_pixels)
        }
        Err(other) => panic!("expected ImageTooLarge, got {other:?}"),
        Ok(p) => panic!("expected ImageTooLarge, got a {} photo", p.format),
    }
}

// ---- formats -------------------------------------------------------------------------------

#[test]
fn every_format_gives_64x64_rgb_with_expected_colours() {
    let image = red_blue(128, 96);
    let dynamic = DynamicImage::ImageRgb8(image.clone());
    let lossless = [
        (ImageFormat::Png, "png"),
        (ImageFormat::Gif, "gif"),
        (ImageFormat::Bmp, "bmp"),
        (ImageFormat::WebP, "webp"),
    ];
    for (format, name) in lossless {
        let bytes = encode(&dynamic, format);
        let photo = preprocess(&bytes, Framing::Crop).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(photo.format, name);
        assert_eq!((photo.width, photo.height), (128, 96), "{name}");
        assert_eq!(photo.pixels.len(), PIXELS);
        // Crop keeps x in 16..112: red is x < 64 -> columns < 32, blue columns >= 32; the
        // Catmull-Rom taps (+-3 source pixels at this 1.5x scale) blend only columns 30..=33.
        assert_cols(&photo, 0..=29, RED, 0);
        assert_cols(&photo, 34..=63, BLUE, 0);
    }
    let photo = preprocess(&jpeg(&image, 90), Framing::Crop).unwrap();
    assert_eq!(photo.format, "jpeg");
    assert_eq!((photo.width, photo.height), (128, 96));
    assert_cols(&photo, 0..=26, RED, 12);
    assert_cols(&photo, 37..=63, BLUE, 12);
}

#[test]
fn crop_and_squash_differ_on_a_wide_image() {
    // 128 x 64: green | red (x in 32..96) | blue.
    let image = RgbImage::from_fn(128, 64, |x, _| {
        Rgb(match x {
            0..=31 => GREEN,
            32..=95 => RED,
            _ => BLUE,
        })
    });
    let bytes = encode(&DynamicImage::ImageRgb8(image), ImageFormat::Png);
    // Crop keeps the centre 64 x 64: all red, and exactly the source pixels (scale 1).
    let crop = preprocess(&bytes, Framing::Crop).unwrap();
    assert_cols(&crop, 0..=63, RED, 0);
    // Squash halves the width: green columns 0..16, red 16..48, blue 48..64 (blends at edges).
    let squash = preprocess(&bytes, Framing::Squash).unwrap();
    assert_cols(&squash, 0..=13, GREEN, 0);
    assert_cols(&squash, 18..=45, RED, 0);
    assert_cols(&squash, 50..=63, BLUE, 0);
    assert_ne!(crop.pixels, squash.pixels);
    assert_eq!(Framing::default(), Framing::Crop);
}

#[test]
fn crop_of_a_tall_image_keeps_the_vertical_centre() {
    // 40 x 120: top third green, middle red, bottom blue -> crop keeps y in 40..80: all red.
    let image = RgbImage::from_fn(40, 120, |_, y| {
        Rgb(match y {
            0..=39 => GREEN,
            40..=79 => RED,
            _ => BLUE,
        })
    });
    let bytes = encode(&DynamicImage::ImageRgb8(image), ImageFormat::Png);
    let crop = preprocess(&bytes, Framing::Crop).unwrap();
    assert_rows(&crop, 0..=63, RED, 0);
    let squash = preprocess(&bytes, Framing::Squash).unwrap();
    assert_rows(&squash, 0..=18, GREEN, 0);
    assert_rows(&squash, 24..=39, RED, 0);
    assert_rows(&squash, 45..=63, BLUE, 0);
}

#[test]
fn colour_types_grey_16bit_alpha() {
    let (w, h) = (90, 70);
    // Grey.
    let grey = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(w, h, image::Luma([77])));
    let p = preprocess(&encode(&grey, ImageFormat::Png), Framing::Crop).unwrap();
    assert!(
        p.pixels.iter().all(|&v| v == 77),
        "grey 77 -> RGB (77, 77, 77)"
    );
    // 16-bit RGB: 65535 -> 255, 32768 -> 128 (32768 * 255 / 65535 = 127.5019), 0 -> 0.
    let rgb16 = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
        w,
        h,
        Rgb([65535u16, 32768, 0]),
    ));
    let p = preprocess(&encode(&rgb16, ImageFormat::Png), Framing::Crop).unwrap();
    assert!(p.pixels.chunks(3).all(|c| c == [255, 128, 0]));
    // 16-bit grey.
    let grey16 = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(
        w,
        h,
        image::Luma([257u16 * 200]),
    ));
    let p = preprocess(&encode(&grey16, ImageFormat::Png), Framing::Squash).unwrap();
    assert!(p.pixels.iter().all(|&v| v == 200));
    // RGBA: alpha is composited over white. Left: transparent, right: half-transparent green.
    let rgba = RgbaImage::from_fn(128, 64, |x, _| {
        Rgba(if x < 64 {
            [0, 0, 0, 0]
        } else {
            [0, 255, 0, 128]
        })
    });
    let p = preprocess(
        &encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
        Framing::Squash,
    )
    .unwrap();
    assert_cols(&p, 0..=29, WHITE, 0);
    // 255 * (1 - 128/255) = 127 for red and blue; green stays 255.
    assert_cols(&p, 34..=63, [127, 255, 127], 1);
    // Grey + alpha.
    let la = DynamicImage::ImageLumaA8(image::ImageBuffer::from_pixel(
        w,
        h,
        image::LumaA([0u8, 255]),
    ));
    let p = preprocess(&encode(&la, ImageFormat::Png), Framing::Crop).unwrap();
    assert!(p.pixels.iter().all(|&v| v == 0), "opaque black grey+alpha");
    let la16 = DynamicImage::ImageLumaA16(image::ImageBuffer::from_pixel(
        w,
        h,
        image::LumaA([0u16, 0]),
    ));
    let p = preprocess(&encode(&la16, ImageFormat::Png), Framing::Crop).unwrap();
    assert!(p.pixels.iter().all(|&v| v == 255), "transparent -> white");
    let rgba16 = DynamicImage::ImageRgba16(image::ImageBuffer::from_pixel(
        w,
        h,
        Rgba([65535u16, 0, 0, 65535]),
    ));
    let p = preprocess(&encode(&rgba16, ImageFormat::Png), Framing::Crop).unwrap();
    assert!(p.pixels.chunks(3).all(|c| c == RED));
    // Grey JPEG (decoded as L8).
    let mut grey_jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut grey_jpeg, 95)
        .encode_image(&image::GrayImage::from_pixel(w, h, image::Luma([150])))
        .unwrap();
    let p = preprocess(&grey_jpeg, Framing::Crop).unwrap();
    assert!(p.pixels.iter().all(|&v| v.abs_diff(150) <= 2));
}

// ---- EXIF orientation ------------------------------------------------------------------------

/// An APP1 "Exif" segment whose IFD0 holds only Orientation (tag 0x0112, SHORT) = `value`.
fn exif_app1(value: u16, big_endian: bool) -> Vec<u8> {
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
fn with_exif(jpeg: &[u8], orientation: u16, big_endian: bool) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&exif_app1(orientation, big_endian));
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_applied() {
    // Stored landscape 96 x 64: top half red, bottom half blue, and a green left third of the
    // top half so that flips are visible too.
    let stored = RgbImage::from_fn(96, 64, |x, y| {
        Rgb(if y >= 32 {
            BLUE
        } else if x < 32 {
            GREEN
        } else {
            RED
        })
    });
    let plain = jpeg(&stored, 95);
    let p = preprocess(&plain, Framing::Squash).unwrap();
    assert_eq!((p.width, p.height), (96, 64));
    assert!(close(px(&p, 10, 50), RED, 12) && close(px(&p, 50, 10), BLUE, 12));

    // 6 = rotate 90 degrees clockwise to display: the stored top (red) becomes the right
    // side, the stored bottom (blue) the left side, the stored top-left (green) the top-right.
    for big_endian in [true, false] {
        let p = preprocess(&with_exif(&plain, 6, big_endian), Framing::Squash).unwrap();
        assert_eq!(
            (p.width, p.height),
            (64, 96),
            "the displayed picture is portrait"
        );
        assert_cols(&p, 0..=27, BLUE, 12);
        assert!(close(px(&p, 5, 60), GREEN, 16), "{:?}", px(&p, 5, 60));
        assert!(close(px(&p, 60, 60), RED, 12), "{:?}", px(&p, 60, 60));
    }
    // 3 = rotate 180: blue on top, green at the bottom right.
    let p = preprocess(&with_exif(&plain, 3, true), Framing::Squash).unwrap();
    assert_eq!((p.width, p.height), (96, 64));
    assert_rows(&p, 0..=27, BLUE, 12);
    assert!(close(px(&p, 60, 60), GREEN, 16) && close(px(&p, 60, 5), RED, 12));
    // 8 = rotate 270 clockwise: red on the left, green at the bottom left.
    let p = preprocess(&with_exif(&plain, 8, true), Framing::Crop).unwrap();
    assert_eq!((p.width, p.height), (64, 96));
    assert_cols(&p, 36..=63, BLUE, 12);
    assert!(close(px(&p, 5, 5), RED, 12));
    // Crop of the stored 96 x 64 keeps x in 16..80: green is x < 32 -> the first quarter.
    assert!(close(px(&p, 60, 5), GREEN, 16), "{:?}", px(&p, 60, 5));
    // 2 = mirror horizontally: green top right.
    let p = preprocess(&with_exif(&plain, 2, false), Framing::Squash).unwrap();
    assert_eq!((p.width, p.height), (96, 64));
    assert!(close(px(&p, 5, 60), GREEN, 16) && close(px(&p, 5, 5), RED, 12));
    // An unknown orientation value is ignored.
    let p = preprocess(&with_exif(&plain, 42, true), Framing::Squash).unwrap();
    assert_eq!(p, preprocess(&plain, Framing::Squash).unwrap());
}

// ---- hostile and broken input ----------------------------------------------------------------

fn small_files() -> Vec<(&'static str, Vec<u8>)> {
    let image = RgbImage::from_fn(24, 16, |x, y| Rgb([(x * 10) as u8, (y * 15) as u8, 99]));
    let dynamic = DynamicImage::ImageRgb8(image.clone());
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(24, 16, |x, y| {
        Rgba([(x * 10) as u8, 50, (y * 15) as u8, (x * y) as u8])
    }));
    vec![
        ("png", encode(&dynamic, ImageFormat::Png)),
        ("png rgba", encode(&rgba, ImageFormat::Png)),
        ("jpeg", jpeg(&image, 80)),
        ("jpeg exif", with_exif(&jpeg(&image, 80), 6, true)),
        ("gif", encode(&dynamic, ImageFormat::Gif)),
        ("webp", encode(&dynamic, ImageFormat::WebP)),
        ("webp rgba", encode(&rgba, ImageFormat::WebP)),
        ("bmp", encode(&dynamic, ImageFormat::Bmp)),
        ("bmp rgba", encode(&rgba, ImageFormat::Bmp)),
    ]
}

#[test]
fn every_truncation_is_an_error_or_a_photo_never_a_panic() {
    for (name, bytes) in small_files() {
        assert!(
            preprocess(&bytes, Framing::Crop).is_ok(),
            "{name} whole file"
        );
        let mut errors = 0;
        for len in 0..bytes.len() {
            match preprocess(&bytes[..len], Framing::Crop) {
                Ok(p) => assert_eq!(p.pixels.len(), PIXELS, "{name} cut at {len}"),
                Err(e) => {
                    errors += 1;
                    assert!(!e.to_string().is_empty());
                    if len == 0 {
                        assert!(matches!(e, Error::EmptyImage));
                    }
                }
            }
            if len < 16 {
                assert!(
                    preprocess(&bytes[..len], Framing::Crop).is_err(),
                    "{name} cut at {len} must fail"
                );
            }
        }
        assert!(errors >= bytes.len() / 2, "{name}: only {errors} errors");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Deterministic xorshift: flip, overwrite and duplicate bytes of small valid files.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, bytes) in small_files() {
        for round in 0..300 {
            let mut bad = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % bad.len() as u64) as usize;
                match next() % 3 {
                    0 => bad[at] ^= 1 << (next() % 8),
                    1 => bad[at] = next() as u8,
                    _ => bad[at] = 0xFF,
                }
            }
            if let Ok(p) = preprocess(&bad, Framing::Crop) {
                assert_eq!(p.pixels.len(), PIXELS, "{name} round {round}");
            }
        }
    }
}

#[test]
fn empty_text_and_garbage_are_named() {
    assert!(matches!(
        preprocess(&[], Framing::Crop),
        Err(Error::EmptyImage)
    ));
    let text = unsupported(preprocess(b"hello, this is not a cat\n", Framing::Crop));
    assert!(text.contains("not an image"), "{text}");
    assert!(text.contains("text"), "{text}");
    let garbage = unsupported(preprocess(
        &[0x13, 0x37, 0x00, 0xFE, 0x01, 0x02],
        Framing::Crop,
    ));
    assert!(garbage.contains("not an image"), "{garbage}");
    let one = unsupported(preprocess(&[0xFF], Framing::Crop));
    assert!(one.contains("not an image"), "{one}");
    // Zero bytes of some length are not empty, just not an image.
    assert!(matches!(
        preprocess(&[0; 100], Framing::Crop),
        Err(Error::UnsupportedImage(_))
    ));
}

#[test]
fn formats_this_build_cannot_decode_are_named() {
    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&((16 + 4 * compatible.len()) as u32).to_be_bytes());
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        b.extend_from_slice(&[0, 0, 0, 8, b'm', b'e', b't', b'a', 0, 0, 0, 0]);
        b
    }
    let cases: Vec<(Vec<u8>, &str)> =
        vec![
        (ftyp(b"heic", &[b"mif1", b"heic"]), "HEIC"),
        (ftyp(b"heix", &[b"mif1"]), "HEIC"),
        (ftyp(b"mif1", &[b"mif1", b"heic"]), "HEIC"),
        (ftyp(b"mif1", &[b"mif1"]), "HEIF"),
        (ftyp(b"avif", &[b"avif", b"mif1", b"miaf"]), "AVIF"),
        (ftyp(b"mif1", &[b"mif1", b"avif"]), "AVIF"),
        (ftyp(b"isom", &[b"isom", b"mp41"]), "video"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), "PDF"),
        (
            b"\xEF\xBB\xBF  <?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
                .to_vec(),
            "SVG",
        ),
        (b"<svg width=\"10\" height=\"10\"></svg>".to_vec(), "SVG"),
        (b"<!DOCTYPE html><html><body></body></html>".to_vec(), "HTML"),
        (b"<?xml version=\"1.0\"?><note/>".to_vec(), "XML"),
        (b"\xFF\x0A\xFA\x7F".to_vec(), "JPEG XL"),
        (b"8BPS\x00\x01".to_vec(), "PSD"),
        (vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0], "ICO"),
        (b"qoif\0\0\0\x01\0\0\0\x01\x03\0".to_vec(), "QOI"),
    ];
    for (bytes, name) in cases {
        let message = unsupported(preprocess(&bytes, Framing::Crop));
        assert!(message.contains(name), "{name}: {message}");
    }
}

// ---- size limits -----------------------------------------------------------------------------

#[test]
fn absurd_png_header_is_too_large() {
    let side = (1u32 << 31) - 1;
    // IHDR only (no IDAT, no IEND) and a full file with a tiny IDAT: both refused by size.
    let full = png_file(side, side, 8, 2, &zlib_zeros(10));
    let header_only = full[..8 + 25].to_vec();
    for bytes in [full, header_only] {
        let ((w, h, _), peak) = peak_alloc(|| too_large(preprocess(&bytes, Framing::Crop)));
        assert_eq!((w, h), (u64::from(side), u64::from(side)));
        assert!(peak < MB, "allocated {peak} bytes");
    }
}

#[test]
fn generated_black_png_decodes() {
    // Validates the hand-rolled deflate used by the bomb tests (with and without a remainder).
    for (w, h) in [(300, 200), (257, 1), (1, 1)] {
        let p = preprocess(&black_png(w, h), Framing::Crop).unwrap();
        assert_eq!((p.width, p.height, p.format), (w, h, "png"));
        assert!(p.pixels.iter().all(|&v| v == 0));
    }
}

#[test]
fn png_bomb_30000_squared_is_refused_without_decoding() {
    // 30000 x 30000 grey = 900 MB of pixels, 5.7 MB compressed.
    let bomb = black_png(30_000, 30_000);
    assert!(bomb.len() < 8 * MB);
    let start = std::time::Instant::now();
    let ((w, h, max_pixels), peak) = peak_alloc(|| too_large(preprocess(&bomb, Framing::Crop)));
    assert_eq!((w, h, max_pixels), (30_000, 30_000, MAX_PIXELS));
    assert!(peak < 2 * MB, "allocated {peak} bytes");
    assert!(start.elapsed().as_secs_f64() < 1.0);
    // Within the side limit but over the pixel limit: 12000 x 12000 = 144 MP.
    let bomb = black_png(12_000, 12_000);
    let ((w, h, _), peak) = peak_alloc(|| too_large(preprocess(&bomb, Framing::Squash)));
    assert_eq!((w, h), (12_000, 12_000));
    assert!(peak < 2 * MB, "allocated {peak} bytes");
}

#[test]
fn bytes_per_pixel_count_against_the_memory_budget() {
    // 16-bit RGBA: 8 bytes a pixel. 6000 x 6000 = 36 MP x 8 = 288 MB > 256 MiB.
    let bytes = png_file(6000, 6000, 16, 6, &zlib_zeros(100));
    let ((w, h, max_pixels), peak) = peak_alloc(|| too_large(preprocess(&bytes, Framing::Crop)));
    assert_eq!((w, h), (6000, 6000));
    assert_eq!(max_pixels, max_pixels_for(8));
    assert_eq!(max_pixels, MAX_DECODE_BYTES / 8);
    assert!(peak < MB, "allocated {peak} bytes");
    // The same size in 8-bit RGB (108 MB) passes the size check (and fails on the bad data).
    let bytes = png_file(6000, 6000, 8, 2, &zlib_zeros(100));
    assert!(matches!(
        preprocess(&bytes, Framing::Crop),
        Err(Error::ImageDecode(_))
    ));
    assert_eq!(max_pixels_for(3), MAX_PIXELS);
}

/// The headers of a 6000 x 6000 YCbCr JPEG (frame marker `sof`, luma sampling `luma_hv`) up to
/// its first scan, with no entropy-coded data.
fn jpeg_headers(sof: u8, luma_hv: u8) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
    j.extend_from_slice(&[1; 64]);
    j.extend_from_slice(&[0xFF, sof, 0, 17, 8, 0x17, 0x70, 0x17, 0x70, 3]);
    j.extend_from_slice(&[1, luma_hv, 0, 2, 0x11, 0, 3, 0x11, 0]);
    j.extend_from_slice(&[0xFF, 0xC4, 0, 20, 0x00, 1]);
    j.extend_from_slice(&[0; 15]);
    j.push(0);
    j.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, 0, 0]);
    j.extend_from_slice(&[0, 0, 0, 0, 0xFF, 0xD9]);
    j
}

#[test]
fn progressive_jpeg_coefficients_count_against_the_memory_budget() {
    // 6000 x 6000 = 36 MP, within MAX_PIXELS. Baseline: 108 MB of RGB8, accepted (zune-jpeg
    // then fills the missing scan data with grey, or fails).
    let fits = |r: &Result<Photo, Error>| !matches!(r, Err(Error::ImageTooLarge { .. }));
    let baseline = preprocess(&jpeg_headers(0xC0, 0x11), Framing::Crop);
    assert!(fits(&baseline), "{baseline:?}");
    // Progressive 4:4:4: + 3 x 2 bytes of coefficients a pixel = 9 bytes a pixel: 324 MB.
    let (w, h, max_pixels) = too_large(preprocess(&jpeg_headers(0xC2, 0x11), Framing::Crop));
    assert_eq!((w, h), (6000, 6000));
    assert_eq!(max_pixels, max_pixels_for(9));
    // Progressive 4:2:0: + (1 + 1/4 + 1/4) x 2 = 3 bytes a pixel: 216 MB, accepted.
    let progressive_420 = preprocess(&jpeg_headers(0xC2, 0x22), Framing::Crop);
    assert!(fits(&progressive_420), "{progressive_420:?}");
}

#[test]
fn absurd_headers_of_other_formats_are_too_large() {
    // GIF: logical screen 65535 x 65535.
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0]);
    gif.extend_from_slice(&[
        0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 2, 2, 0x44, 0x01, 0,
    ]);
    gif.push(0x3B);
    // BMP: BITMAPINFOHEADER 100000 x -100000 (top-down), 24 bits.
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&[0; 8]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&100_000i32.to_le_bytes());
    bmp.extend_from_slice(&(-100_000i32).to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    // JPEG: SOF0 65535 x 65535, 3 components, then nothing.
    let mut jpg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3];
    jpg.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0, 0xFF, 0xD9]);
    // WebP: VP8X canvas 20000 x 20000.
    let mut webp = b"RIFF".to_vec();
    webp.extend_from_slice(&22u32.to_le_bytes());
    webp.extend_from_slice(b"WEBPVP8X");
    webp.extend_from_slice(&10u32.to_le_bytes());
    webp.extend_from_slice(&[0; 4]);
    webp.extend_from_slice(&19_999u32.to_le_bytes()[..3]);
    webp.extend_from_slice(&19_999u32.to_le_bytes()[..3]);
    // WebP lossless: 16383 x 16383 fits the side limit, not the pixel limit.
    let mut vp8l = b"RIFF".to_vec();
    vp8l.extend_from_slice(&20u32.to_le_bytes());
    vp8l.extend_from_slice(b"WEBPVP8L");
    vp8l.extend_from_slice(&8u32.to_le_bytes());
    vp8l.push(0x2F);
    vp8l.extend_from_slice(&(16382u32 | 16382 << 14).to_le_bytes());
    vp8l.extend_from_slice(&[0, 0, 0]);
    // TIFF: 100000 x 100000, 8-bit grey, one strip.
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let entries: [(u16, u16, u32); 6] = [
        (256, 4, 100_000),
        (257, 4, 100_000),
        (258, 3, 8),
        (262, 3, 1),
        (273, 4, 0),
        (279, 4, 0),
    ];
    tiff.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());

    let cases = [
        ("gif", gif, (65_535, 65_535)),
        ("bmp", bmp, (100_000, 100_000)),
        ("jpeg", jpg, (65_535, 65_535)),
        ("webp", webp, (20_000, 20_000)),
        ("webp lossless", vp8l, (16_383, 16_383)),
    ];
    // TIFF is not decoded by this build (it is rare for photos, and its decoder would be a
    // tenth of the wasm module): refused by name, before its header is read.
    let (message, peak) = peak_alloc(|| unsupported(preprocess(&tiff, Framing::Crop)));
    assert!(
        message.starts_with("TIFF images cannot be decoded"),
        "{message}"
    );
    assert!(peak < MB, "tiff: allocated {peak} bytes");
    for (name, bytes, dims) in cases {
        let ((w, h, _), peak) = peak_alloc(|| too_large(preprocess(&bytes, Framing::Crop)));
        assert_eq!((w, h), dims, "{name}");
        assert!(peak < 2 * MB, "{name}: allocated {peak} bytes");
    }
}

#[test]
fn decoding_memory_stays_near_the_decoded_image_size() {
    // 3000 x 2000: 18 MB decoded as RGB8, 24 MB as RGBA8.
    let (w, h) = (3000, 2000);
    let rgb = RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x / 12) as u8, (y / 8) as u8, ((x ^ y) & 0xFF) as u8])
    });
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
        Rgba([
            (x / 12) as u8,
            (y / 8) as u8,
            ((x ^ y) & 0xFF) as u8,
            (x / 20) as u8,
        ])
    }));
    // GIF: few colours, so that encoding stays fast and exact.
    let gif = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x / 500 * 40) as u8, (y / 500 * 60) as u8, 9])
    }));
    let rgb = DynamicImage::ImageRgb8(rgb);
    let files = [
        ("png", encode(&rgb, ImageFormat::Png), 3),
        ("png rgba", encode(&rgba, ImageFormat::Png), 4),
        ("jpeg", jpeg(&rgb.to_rgb8(), 90), 3),
        ("bmp", encode(&rgb, ImageFormat::Bmp), 3),
        ("gif", encode(&gif, ImageFormat::Gif), 4 + 1),
        ("webp", encode(&rgb, ImageFormat::WebP), 3 + 4),
        ("webp rgba", encode(&rgba, ImageFormat::WebP), 4 + 4),
    ];
    for (name, bytes, bytes_per_pixel) in files {
        let (photo, peak) = peak_alloc(|| preprocess(&bytes, Framing::Crop).unwrap());
        assert_eq!((photo.width, photo.height), (w, h));
        // What `preprocess` accounts for (the decoded pixels, plus the decoder's own buffers
        // for WebP and TIFF), a copy of the input (JPEG), and < 8 MB more.
        let accounted = (w * h) as usize * bytes_per_pixel;
        let allowed = accounted + bytes.len() + 8 * MB;
        println!(
            "{name}: peak {:.1} MB, accounted {:.1} MB, input {:.1} MB",
            peak as f64 / 1e6,
            accounted as f64 / 1e6,
            bytes.len() as f64 / 1e6
        );
        assert!(peak < allowed, "{name}: peak {peak} > {allowed}");
    }
}

// ---- resampling goldens ----------------------------------------------------------------------

#[test]
fn uniform_colour_stays_exactly_that_colour() {
    let colour = [12, 200, 77];
    // Small (no box stage), medium and large (box stage), square and not.
    for (w, h) in [
        (1, 1),
        (3, 5),
        (64, 64),
        (300, 200),
        (1000, 3),
        (4000, 3000),
    ] {
        let image = RgbImage::from_pixel(w, h, Rgb(colour));
        let bytes = encode(&DynamicImage::ImageRgb8(image), ImageFormat::Png);
        for fit in [Framing::Crop, Framing::Squash] {
            let p = preprocess(&bytes, fit).unwrap();
            assert!(p.pixels.chunks(3).all(|c| c == colour), "{w} x {h} {fit:?}");
        }
    }
}

#[test]
fn a_64x64_image_is_returned_unchanged() {
    let mut state = 12345u32;
    let image = RgbImage::from_fn(64, 64, |_, _| {
        let mut c = [0u8; 3];
        for v in &mut c {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (state >> 24) as u8;
        }
        Rgb(c)
    });
    let bytes = encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Png);
    for fit in [Framing::Crop, Framing::Squash] {
        assert_eq!(
            preprocess(&bytes, fit).unwrap().pixels,
            image.as_raw().clone()
        );
    }
    // Crop of an integer-centred 64-pixel square of a larger image: also unchanged.
    let wide = RgbImage::from_fn(100, 64, |x, y| {
        if (18..82).contains(&x) {
            *image.get_pixel(x - 18, y)
        } else {
            Rgb([0, 0, 0])
        }
    });
    let bytes = encode(&DynamicImage::ImageRgb8(wide), ImageFormat::Png);
    assert_eq!(
        preprocess(&bytes, Framing::Crop).unwrap().pixels,
        image.as_raw().clone()
    );
    // And round-trips through to_png.
    let png = to_png(image.as_raw()).unwrap();
    assert_eq!(
        preprocess(&png, Framing::Crop).unwrap().pixels,
        image.as_raw().clone()
    );
}

#[test]
fn linear_ramps_land_where_geometry_says() {
    // R = x / 4 ... across the width, G = y / 4 down: the output samples the ramp at the centres
    // of its 64 cells. Checks the crop offset and the box + filter geometry (no half-pixel
    // shifts), away from the edges where the clamped ramp bends.
    for (w, h) in [(640, 480), (4000, 3000), (1020, 1020)] {
        let image = image::ImageBuffer::from_fn(w, h, |x, y| {
            Rgb([
                (x as f64 * 65535.0 / f64::from(w - 1)) as u16,
                (y as f64 * 65535.0 / f64::from(h - 1)) as u16,
                0,
            ])
        });
        let bytes = encode(&DynamicImage::ImageRgb16(image), ImageFormat::Png);
        for fit in [Framing::Crop, Framing::Squash] {
            let p = preprocess(&bytes, fit).unwrap();
            let (cw, ch) = match fit {
                Framing::Crop => (w.min(h), w.min(h)),
                Framing::Squash => (w, h),
            };
            let (x0, y0) = (f64::from(w - cw) / 2.0, f64::from(h - ch) / 2.0);
            for i in 4..60 {
                let x = x0 + (i as f64 + 0.5) * f64::from(cw) / 64.0 - 0.5;
                let y = y0 + (i as f64 + 0.5) * f64::from(ch) / 64.0 - 0.5;
                let r = x * 255.0 / f64::from(w - 1);
                let g = y * 255.0 / f64::from(h - 1);
                let got = px(&p, i, i);
                assert!(
                    (f64::from(got[0]) - r).abs() <= 1.0 && (f64::from(got[1]) - g).abs() <= 1.0,
                    "{w} x {h} {fit:?} pixel {i}: {got:?} vs ({r:.2}, {g:.2})"
                );
            }
        }
    }
}

#[test]
fn preprocessing_is_deterministic() {
    let image = RgbImage::from_fn(1234, 777, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 3 % 256) as u8,
            ((x * y) % 251) as u8,
        ])
    });
    let bytes = jpeg(&image, 85);
    let a = preprocess(&bytes, Framing::Crop).unwrap();
    let b = preprocess(&bytes, Framing::Crop).unwrap();
    assert_eq!(a, b);
}

#[test]
fn to_png_checks_the_length() {
    assert!(matches!(to_png(&[0; 10]), Err(Error::Shape(_))));
    let png = to_png(&[200; PIXELS]).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let p = preprocess(&png, Framing::Squash).unwrap();
    assert_eq!((p.width, p.height), (64, 64));
    assert!(p.pixels.iter().all(|&v| v == 200));
}

// ---- large JPEGs: reduced-scale decoding ------------------------------------------------------

/// A photo-like test picture: gradients with sharp wrap-around edges and per-pixel noise (the
/// picture of `purrceptron bench`).
fn busy_picture(w: u32, h: u32) -> RgbImage {
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

/// Mean absolute difference per channel, and the largest difference, of two 64 x 64 images.
fn differences(a: &Photo, b: &Photo) -> ([f64; 3], u8) {
    let mut sums = [0f64; 3];
    let mut max = 0;
    for (pa, pb) in a.pixels.chunks(3).zip(b.pixels.chunks(3)) {
        for c in 0..3 {
            let d = pa[c].abs_diff(pb[c]);
            sums[c] += f64::from(d);
            max = max.max(d);
        }
    }
    (sums.map(|s| s / (SIDE * SIDE) as f64), max)
}

#[test]
fn large_jpegs_decoded_at_reduced_scale_match_the_full_size_decode() {
    // 4000 x 3000 (Crop: 3000 -> 1/8 = 375 px; Squash: 1/8 too), 2400 x 1800 (1/4) and
    // 1100 x 700 (1/2); the picture of the `classify 12 MP JPEG` benchmark. The full-size path: the same JPEG decoded at full size by image-rs
    // (zune-jpeg), stored losslessly as BMP and preprocessed.
    for (w, h) in [(4000, 3000), (2400, 1800), (1100, 700)] {
        let bytes = jpeg(&busy_picture(w, h), 90);
        let full = image::load_from_memory(&bytes).unwrap();
        assert_eq!((full.width(), full.height()), (w, h));
        let full = encode(&DynamicImage::ImageRgb8(full.to_rgb8()), ImageFormat::Bmp);
        for fit in [Framing::Crop, Framing::Squash] {
            let (reduced, peak) = peak_alloc(|| preprocess(&bytes, fit).unwrap());
            assert_eq!(
                (reduced.width, reduced.height, reduced.format),
                (w, h, "jpeg")
            );
            // The reduced decode needs at most a quarter of the full-size RGB buffer (plus the
            // input, image-rs's copy of it for the header, and the < 4 MB of resampling): no
            // block comes near the full-size buffer (36 MB at 4000 x 3000). 1.2-2.4 MB seen.
            let rgb = (w * h * 3) as usize;
            let largest = largest_alloc();
            assert!(
                largest < 2 * bytes.len() + rgb / 4 + 4 * MB,
                "{w} x {h} {fit:?}: block {largest} (input {})",
                bytes.len()
            );
            // The total adds the rows of coefficients that jpeg-decoder queues natively to its
            // worker threads, as many as the machine's load lets pile up (2-4 MB in all on an
            // idle machine, 18 MB seen under load), at most the coefficient planes.
            let coefficients = rgb * 2;
            assert!(
                peak < coefficients + 2 * bytes.len() + rgb / 4 + 4 * MB,
                "{w} x {h} {fit:?}: peak {peak} (input {})",
                bytes.len()
            );
            let reference = preprocess(&full, fit).unwrap();
            let (mean, max) = differences(&reduced, &reference);
            println!("{w} x {h} {fit:?}: mean |difference| {mean:.2?}, max {max}");
            assert!(
                mean.iter().all(|&m| m < 3.0),
                "{w} x {h} {fit:?}: mean |difference| per channel {mean:?} (max {max})"
            );
        }
    }
}

#[test]
fn large_jpeg_exif_orientation_is_applied() {
    let bytes = jpeg(&busy_picture(2400, 1800), 85);
    let plain = preprocess(&bytes, Framing::Squash).unwrap();
    let upright = RgbImage::from_raw(64, 64, plain.pixels.clone()).unwrap();
    for big_endian in [true, false] {
        // 6: rotate 90 degrees clockwise to display.
        let p = preprocess(&with_exif(&bytes, 6, big_endian), Framing::Squash).unwrap();
        assert_eq!((p.width, p.height), (1800, 2400));
        assert_eq!(p.pixels, image::imageops::rotate90(&upright).into_raw());
        // 3: rotate 180 degrees.
        let p = preprocess(&with_exif(&bytes, 3, big_endian), Framing::Squash).unwrap();
        assert_eq!((p.width, p.height), (2400, 1800));
        assert_eq!(p.pixels, image::imageops::rotate180(&upright).into_raw());
    }
}

/// A baseline JPEG of one uniform colour with `components` 1x1-sampled components of the stored
/// values `values` (quantisation 1, DC only), and an Adobe APP14 segment with `transform`
/// (0: CMYK or RGB, 1: YCbCr, 2: YCCK) if given.
fn uniform_jpeg(w: u16, h: u16, values: &[u8], transform: Option<u8>) -> Vec<u8> {
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

#[test]
fn cmyk_ycck_and_grey_jpegs_give_the_colours_of_the_full_size_decode() {
    // Adobe CMYK (stored inverted), YCCK, plain YCbCr, grey.
    let cases: [(&[u8], Option<u8>); 5] = [
        (&[200, 100, 50, 230], Some(0)),
        (&[30, 240, 128, 250], Some(0)),
        (&[90, 100, 200, 200], Some(2)),
        (&[120, 60, 200], Some(1)),
        (&[77], None),
    ];
    for (values, transform) in cases {
        let mut colours = Vec::new();
        // 40 x 30 decodes at full size, 1024 x 768 at 1/2 and 4000 x 3000 at 1/8; the expected
        // colour comes from another decoder (zune-jpeg, at full size).
        for (w, h) in [(40, 30), (1024, 768), (4000, 3000)] {
            let bytes = uniform_jpeg(w, h, values, transform);
            let expected = image::load_from_memory(&bytes).unwrap().to_rgb8();
            let expected = expected.get_pixel(w as u32 / 2, h as u32 / 2).0;
            for fit in [Framing::Crop, Framing::Squash] {
                let (p, peak) = peak_alloc(|| preprocess(&bytes, fit).unwrap());
                assert_eq!((p.width, p.height), (u32::from(w), u32::from(h)));
                if w == 4000 {
                    // Decoded at 1/8 scale, not into 36-48 MB of pixels at full size: no block
                    // is anywhere near that. (The total peak is not asserted tightly: natively,
                    // jpeg-decoder queues rows of coefficients, 64 KB each, to a worker thread
                    // per component, and how many wait depends on how busy the machine is:
                    // 4-34 MB seen. In wasm the rows are processed as they are read.)
                    let largest = largest_alloc();
                    assert!(
                        largest < 4 * MB,
                        "{values:?} {transform:?}: block {largest}"
                    );
                    let coefficients = usize::from(w) * usize::from(h) * values.len() * 2;
                    assert!(
                        peak < coefficients + 4 * MB,
                        "{values:?} {transform:?}: {peak}"
                    );
                }
                for c in p.pixels.chunks(3) {
                    assert!(
                        close([c[0], c[1], c[2]], expected, 1),
                        "{values:?} {transform:?} {w} x {h} {fit:?}: {c:?} vs {expected:?}"
                    );
                }
                colours.push(px(&p, 32, 32));
            }
        }
        println!("{values:?} {transform:?}: {colours:?}");
    }
}

#[test]
fn truncated_and_corrupted_large_jpegs_never_panic() {
    // 700 x 520: Crop decodes at 1/2 (260 px); errors fall back to the full-size decoder.
    let image = RgbImage::from_fn(700, 520, |x, y| {
        Rgb([(x / 3) as u8, (y / 2) as u8, ((x + 2 * y) / 8) as u8])
    });
    let bytes = jpeg(&image, 75);
    let whole = preprocess(&bytes, Framing::Crop).unwrap();
    assert_eq!((whole.width, whole.height), (700, 520));
    // Every prefix through the headers, then every 7th.
    let cuts = (0..bytes.len()).filter(|&len| len < 1000 || len % 7 == 0);
    println!("{} bytes", bytes.len());
    for len in cuts {
        if let Ok(p) = preprocess(&bytes[..len], Framing::Crop) {
            assert_eq!(p.pixels.len(), PIXELS, "cut at {len}");
        }
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let mut bad = bytes.clone();
        for _ in 0..1 + next() % 4 {
            // Mostly in the headers (where the structure is), sometimes in the scan data.
            let span = if next() % 2 == 0 { 700 } else { bad.len() };
            let at = (next() % span as u64) as usize;
            match next() % 3 {
                0 => bad[at] ^= 1 << (next() % 8),
                1 => bad[at] = next() as u8,
                _ => bad[at] = 0xFF,
            }
        }
        for fit in [Framing::Crop, Framing::Squash] {
            if let Ok(p) = preprocess(&bad, fit) {
                assert_eq!(p.pixels.len(), PIXELS, "round {round}");
            }
        }
    }
}
