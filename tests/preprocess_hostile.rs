//! `purrceptron::preprocess` on broken and hostile input: every truncation and random
//! corruptions of small files of each format, and of a large JPEG; text, garbage and formats this
//! build cannot decode. Whatever the bytes, the result is a photo that agrees with the file's
//! header, or an error of kind photo that says what is wrong: never a panic.

mod common;

use common::images::{
    black_png, busy_picture, encode, jpeg, png_file, unsupported, with_exif, zlib_zeros,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use purrceptron::error::ErrorKind;
use purrceptron::preprocess::{preprocess, Framing, Photo, MAX_PIXELS, MAX_SIDE};
use purrceptron::Error;

/// A valid file, the photo it gives, and where its header ends: the bytes up to there declare
/// its format, size and orientation.
struct Sample {
    name: &'static str,
    bytes: Vec<u8>,
    whole: Photo,
    header_end: usize,
}

impl Sample {
    fn new(name: &'static str, bytes: Vec<u8>) -> Sample {
        let whole = preprocess(&bytes, Framing::Crop).unwrap_or_else(|e| panic!("{name}: {e}"));
        // JPEG: the end of the frame header (SOF0) segment, after any EXIF segment. The other
        // formats declare their size in their first 30 bytes (PNG IHDR, GIF screen, BMP info
        // header, WebP VP8/VP8L/VP8X).
        let header_end = match bytes.windows(2).position(|m| m == [0xFF, 0xC0]) {
            Some(at) if whole.format == "jpeg" => {
                at + 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]))
            }
            _ => 32,
        };
        Sample {
            name,
            bytes,
            whole,
            header_end,
        }
    }

    /// Checks the outcome of preprocessing a damaged copy whose first `intact` bytes are the
    /// original's: a photo must be a real decode (the format of the magic bytes; when the
    /// header is intact, the width and height of the whole file; within the limits); an error
    /// must be of kind photo and, once the format is recognisable, name it (or, when the header
    /// itself was damaged, say that the image is too large). Returns whether it was a photo.
    fn check(&self, result: &Result<Photo, Error>, intact: usize, what: &str) -> bool {
        let name = self.name;
        let format = self.whole.format;
        match result {
            Ok(p) => {
                assert!(
                    (1..=MAX_SIDE).contains(&p.width)
                        && (1..=MAX_SIDE).contains(&p.height)
                        && u64::from(p.width) * u64::from(p.height) <= MAX_PIXELS,
                    "{name} {what}: {p:?}"
                );
                if intact >= 16 {
                    assert_eq!(p.format, format, "{name} {what}");
                }
                if intact >= self.header_end {
                    assert_eq!(
                        (p.width, p.height),
                        (self.whole.width, self.whole.height),
                        "{name} {what}"
                    );
                }
                true
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Photo, "{name} {what}: {e:?}");
                let message = e.to_string();
                if matches!(e, Error::ImageTooLarge { .. }) {
                    assert!(intact < self.header_end, "{name} {what}: {message}");
                } else if intact >= 16 {
                    assert!(
                        message.contains(&format.to_uppercase()),
                        "{name} {what}: {message}"
                    );
                }
                false
            }
        }
    }
}

fn small_files() -> Vec<Sample> {
    let image = RgbImage::from_fn(24, 16, |x, y| Rgb([(x * 10) as u8, (y * 15) as u8, 99]));
    let dynamic = DynamicImage::ImageRgb8(image.clone());
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(24, 16, |x, y| {
        Rgba([(x * 10) as u8, 50, (y * 15) as u8, (x * y) as u8])
    }));
    let files = vec![
        ("png", encode(&dynamic, ImageFormat::Png)),
        ("png rgba", encode(&rgba, ImageFormat::Png)),
        ("jpeg", jpeg(&image, 80)),
        ("jpeg exif", with_exif(&jpeg(&image, 80), 6, true)),
        ("gif", encode(&dynamic, ImageFormat::Gif)),
        ("webp", encode(&dynamic, ImageFormat::WebP)),
        ("webp rgba", encode(&rgba, ImageFormat::WebP)),
        ("bmp", encode(&dynamic, ImageFormat::Bmp)),
        ("bmp rgba", encode(&rgba, ImageFormat::Bmp)),
    ];
    files
        .into_iter()
        .map(|(name, bytes)| Sample::new(name, bytes))
        .collect()
}

/// Deterministic xorshift.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Flips, overwrites or sets to 0xFF 1 to 4 bytes of `bytes`, within the first `span` bytes
/// (all of them if `span` is larger); returns the position of the first byte changed.
fn corrupt(bytes: &mut [u8], span: usize, next: &mut impl FnMut() -> u64) -> usize {
    let span = span.min(bytes.len());
    let mut first = bytes.len();
    for _ in 0..1 + next() % 4 {
        let at = (next() % span as u64) as usize;
        let before = bytes[at];
        match next() % 3 {
            0 => bytes[at] ^= 1 << (next() % 8),
            1 => bytes[at] = next() as u8,
            _ => bytes[at] = 0xFF,
        }
        if bytes[at] != before {
            first = first.min(at);
        }
    }
    first
}

#[test]
fn every_truncation_is_an_error_or_a_true_photo() {
    for sample in small_files() {
        let bytes = &sample.bytes;
        let mut errors = 0;
        for len in 0..bytes.len() {
            let result = preprocess(&bytes[..len], Framing::Crop);
            if !sample.check(&result, len, &format!("cut at {len}")) {
                errors += 1;
            }
            if len == 0 {
                assert!(matches!(result, Err(Error::EmptyImage)));
            }
            if len < 16 {
                assert!(result.is_err(), "{} cut at {len} must fail", sample.name);
            }
        }
        assert!(
            errors >= bytes.len() / 2,
            "{}: only {errors} errors",
            sample.name
        );
    }
}

#[test]
fn corrupted_bytes_give_an_error_or_a_true_photo() {
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    let (mut photos, mut errors) = (0, 0);
    for sample in small_files() {
        for round in 0..300 {
            let mut bad = sample.bytes.clone();
            let intact = corrupt(&mut bad, usize::MAX, &mut next);
            let result = preprocess(&bad, Framing::Crop);
            if sample.check(&result, intact, &format!("round {round}")) {
                photos += 1;
                // No uninitialised or leftover memory shows in the result.
                assert_eq!(result.ok(), preprocess(&bad, Framing::Crop).ok());
            } else {
                errors += 1;
            }
        }
    }
    // Both outcomes are exercised.
    println!("{photos} photos, {errors} errors");
    assert!(
        photos > 100 && errors > 100,
        "{photos} photos, {errors} errors"
    );
}

#[test]
fn truncated_and_corrupted_large_jpegs_give_an_error_or_a_true_photo() {
    // 700 x 520: Crop decodes at 1/2 (260 px), Squash too.
    let image = RgbImage::from_fn(700, 520, |x, y| {
        Rgb([(x / 3) as u8, (y / 2) as u8, ((x + 2 * y) / 8) as u8])
    });
    let sample = Sample::new("large jpeg", jpeg(&image, 75));
    assert_eq!((sample.whole.width, sample.whole.height), (700, 520));
    let bytes = &sample.bytes;
    // Every prefix through the headers, then every 7th.
    let cuts = (0..bytes.len()).filter(|&len| len < 1000 || len % 7 == 0);
    let mut photos = 0;
    for len in cuts {
        let result = preprocess(&bytes[..len], Framing::Crop);
        if sample.check(&result, len, &format!("cut at {len}")) {
            photos += 1;
        }
    }
    println!("{} bytes, {photos} photos from cuts", bytes.len());
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    for round in 0..300 {
        let mut bad = bytes.clone();
        // Mostly in the headers (where the structure is), sometimes in the scan data.
        let span = if next() % 2 == 0 { 700 } else { bad.len() };
        let intact = corrupt(&mut bad, span, &mut next);
        for fit in [Framing::Crop, Framing::Squash] {
            sample.check(
                &preprocess(&bad, fit),
                intact,
                &format!("round {round} {fit:?}"),
            );
        }
    }
}

/// Error messages recorded with the code as it was before it was split into modules (commit
/// 9a7fdc5): the text a user sees must not change.
#[test]
fn error_messages_are_the_recorded_ones() {
    let png = encode(
        &DynamicImage::ImageRgb8(busy_picture(40, 30)),
        ImageFormat::Png,
    );
    let jpg = jpeg(&busy_picture(700, 520), 80);
    let gif = encode(
        &DynamicImage::ImageRgb8(busy_picture(40, 30)),
        ImageFormat::Gif,
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"hello\n".to_vec()),
        ("png cut 60", png[..60].to_vec()),
        ("png cut 33", png[..33].to_vec()),
        ("png cut half", png[..png.len() / 2].to_vec()),
        ("gif cut half", gif[..gif.len() / 2].to_vec()),
        ("jpeg cut 100", jpg[..100].to_vec()),
        ("jpeg cut 400", jpg[..400].to_vec()),
        ("png bomb", black_png(30_000, 30_000)),
        ("png 16384+1", png_file(16_385, 10, 8, 2, &zlib_zeros(10))),
        (
            "png rgba16 6000",
            png_file(6000, 6000, 16, 6, &zlib_zeros(100)),
        ),
        (
            "png rgb8 6000",
            png_file(6000, 6000, 8, 2, &zlib_zeros(100)),
        ),
        ("png 0 wide", png_file(0, 10, 8, 2, &zlib_zeros(10))),
        ("qoi", b"qoif\0\0\0\x01\0\0\0\x01\x03\0".to_vec()),
    ];
    let recorded = [
        ("empty", "the file is empty"),
        ("text", "unsupported image format: not an image: the file looks like text (unrecognised format; use JPEG, PNG, GIF, WebP or BMP)"),
        ("png cut 60", "cannot decode image: the PNG file is truncated"),
        ("png cut 33", "cannot decode image: the PNG file is truncated"),
        ("png cut half", "cannot decode image: the PNG file is truncated"),
        ("gif cut half", "cannot decode image: the GIF data is corrupt or truncated (Format error decoding Gif: Unexpected End of File)"),
        ("jpeg cut 100", "cannot decode image: the JPEG file is truncated"),
        ("jpeg cut 400", "cannot decode image: the JPEG file is truncated"),
        ("png bomb", "image too large: 30000 x 30000 pixels (limit 16384 px a side, 67108864 pixels)"),
        ("png 16384+1", "image too large: 16385 x 10 pixels (limit 16384 px a side, 67108864 pixels)"),
        ("png rgba16 6000", "image too large: 6000 x 6000 pixels (limit 16384 px a side, 33554432 pixels)"),
        ("png rgb8 6000", "cannot decode image: the PNG data is corrupt or truncated (Format error decoding Png: IDAT or fDAT chunk does not have enough data for image.)"),
        ("png 0 wide", "cannot decode image: the PNG data is corrupt or truncated (Format error decoding Png: Invalid image dimensions)"),
        ("qoi", "unsupported image format: QOI images cannot be decoded by this build (use JPEG, PNG, GIF, WebP or BMP)"),
    ];
    assert_eq!(cases.len(), recorded.len());
    for ((name, bytes), (recorded_name, message)) in cases.into_iter().zip(recorded) {
        assert_eq!(name, recorded_name);
        let error = preprocess(&bytes, Framing::Crop).unwrap_err();
        assert_eq!(error.to_string(), message, "{name}");
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
