//! Size limits of `purrceptron::preprocess`: absurd headers and decompression bombs are refused
//! from their header, without allocating their pixels; the decoders' memory stays within the
//! budget; and the limits are a value passed in ([`Limits`]), the default one being the
//! documented constants.

mod common;

use common::images::{
    black_png, encode, jpeg, peak_alloc, png_file, red_blue, too_large, too_large_with,
    unsupported, zlib_zeros, Counting, MB,
};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use purrceptron::preprocess::{
    max_pixels_for, preprocess, preprocess_with, Framing, Limits, Photo, MAX_DECODE_BYTES,
    MAX_PIXELS, MAX_SIDE,
};
use purrceptron::Error;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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

// ---- limits passed in --------------------------------------------------------------------------

#[test]
fn default_limits_are_the_documented_constants() {
    let limits = Limits::default();
    assert_eq!(
        (limits.max_side, limits.max_pixels, limits.max_decode_bytes),
        (MAX_SIDE, MAX_PIXELS, MAX_DECODE_BYTES)
    );
    // The values listed in `max_pixels_for`'s docs: min(2^26, 256 MiB / bytes per pixel).
    let documented = [
        (3, 67_108_864),
        (4, 67_108_864),
        (5, 53_687_091),
        (6, 44_739_242),
        (7, 38_347_922),
        (8, 33_554_432),
        (9, 29_826_161),
    ];
    for (bytes_per_pixel, pixels) in documented {
        assert_eq!(max_pixels_for(bytes_per_pixel), pixels);
        assert_eq!(limits.max_pixels_for(bytes_per_pixel), pixels);
    }
    // `preprocess` is `preprocess_with` the default limits.
    let image = red_blue(128, 96);
    for bytes in [
        encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Png),
        jpeg(&image, 90),
    ] {
        for fit in [Framing::Crop, Framing::Squash] {
            assert_eq!(
                preprocess_with(&bytes, fit, &limits).unwrap(),
                preprocess(&bytes, fit).unwrap()
            );
        }
    }
}

#[test]
fn smaller_limits_refuse_at_their_bounds() {
    // 128 x 96 = 12 288 pixels, RGB8: 36 864 bytes of decoded pixels (PNG and baseline JPEG).
    let image = red_blue(128, 96);
    let files = [
        (
            "png",
            encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Png),
        ),
        ("jpeg", jpeg(&image, 90)),
    ];
    let with = |max_side, max_pixels, max_decode_bytes| Limits {
        max_side,
        max_pixels,
        max_decode_bytes,
    };
    for (name, bytes) in &files {
        let run = |limits: Limits| preprocess_with(bytes, Framing::Crop, &limits);
        // Exactly at each limit: accepted, the same photo as with the default limits.
        let expected = preprocess(bytes, Framing::Crop).unwrap();
        assert_eq!(run(with(128, 12_288, 36_864)).unwrap(), expected, "{name}");
        // One over the side limit. (PNG: the decoder refuses the header, and the pixel limit
        // named is `max_pixels`; JPEG: `min(max_pixels, budget / 3)`, the same here.)
        let (w, h, side, pixels) = too_large_with(run(with(127, MAX_PIXELS, MAX_DECODE_BYTES)));
        assert_eq!((w, h, side, pixels), (128, 96, 127, MAX_PIXELS), "{name}");
        // One pixel over the pixel limit.
        let (w, h, side, pixels) = too_large_with(run(with(MAX_SIDE, 12_287, MAX_DECODE_BYTES)));
        assert_eq!((w, h, side, pixels), (128, 96, MAX_SIDE, 12_287), "{name}");
        // One byte over the memory budget: 36 863 / 3 = 12 287 pixels allowed.
        let (w, h, side, pixels) = too_large_with(run(with(MAX_SIDE, MAX_PIXELS, 36_863)));
        assert_eq!((w, h, side, pixels), (128, 96, MAX_SIDE, 12_287), "{name}");
        // Zero refuses everything.
        let message = run(with(0, 0, 0)).unwrap_err().to_string();
        assert_eq!(
            message, "image too large: 128 x 96 pixels (limit 0 px a side, 0 pixels)",
            "{name}"
        );
    }
}

#[test]
fn larger_limits_let_through_what_the_default_refuses() {
    // 16 385 x 10: one pixel wider than MAX_SIDE. With a larger side limit the header passes and
    // the (deliberately too short) pixel data is what fails.
    let bytes = png_file(16_385, 10, 8, 2, &zlib_zeros(10));
    let (w, h, _) = too_large(preprocess(&bytes, Framing::Crop));
    assert_eq!((w, h), (16_385, 10));
    let wide = Limits {
        max_side: 20_000,
        ..Limits::default()
    };
    let result = preprocess_with(&bytes, Framing::Crop, &wide);
    assert!(matches!(result, Err(Error::ImageDecode(_))), "{result:?}");
    // A real image wider than MAX_SIDE decodes under the larger limit.
    let black = black_png(16_400, 2);
    assert!(matches!(
        preprocess(&black, Framing::Squash),
        Err(Error::ImageTooLarge { .. })
    ));
    let p = preprocess_with(&black, Framing::Squash, &wide).unwrap();
    assert_eq!((p.width, p.height), (16_400, 2));
    assert!(p.pixels.iter().all(|&v| v == 0));
}
