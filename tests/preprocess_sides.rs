//! `purrceptron::preprocess::preprocess_to`: photos preprocessed straight to another side than 64
//! (128 for a pretrained backbone). Side 64 is exactly `preprocess`; at 128 the resampling is
//! checked against a hand-worked case and a direct 2-D reference, and the framing, EXIF
//! orientation, large JPEGs and truncated files behave as at 64.

mod common;

use common::images::{busy_picture, encode, jpeg, with_exif};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use purrceptron::error::ErrorKind;
use purrceptron::preprocess::{
    preprocess, preprocess_to, preprocess_with, to_png_sized, Framing, Limits, Photo,
    MAX_OUTPUT_SIDE, MIN_OUTPUT_SIDE, SIDE,
};
use purrceptron::Error;

fn to(bytes: &[u8], fit: Framing, side: usize) -> Photo {
    preprocess_to(bytes, fit, side, &Limits::default())
        .unwrap_or_else(|e| panic!("side {side} {fit:?}: {e}"))
}

fn at(p: &Photo, row: usize, col: usize) -> [u8; 3] {
    let i = (row * p.side + col) * 3;
    [p.pixels[i], p.pixels[i + 1], p.pixels[i + 2]]
}

fn png(image: RgbImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image), ImageFormat::Png)
}

#[test]
fn side_64_is_exactly_preprocess() {
    let rgba = RgbaImage::from_fn(90, 70, |x, y| Rgba([(x * 2) as u8, (y * 3) as u8, 7, 200]));
    let files = [
        png(busy_picture(300, 200)),
        encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::WebP),
        with_exif(&jpeg(&busy_picture(1100, 700), 85), 6, false),
        jpeg(&busy_picture(2400, 1800), 85),
    ];
    for bytes in &files {
        for fit in [Framing::Crop, Framing::Squash] {
            let old = preprocess(bytes, fit).unwrap();
            assert_eq!(old.side, SIDE);
            assert_eq!(to(bytes, fit, SIDE), old);
            assert_eq!(
                preprocess_with(bytes, fit, &Limits::default()).unwrap(),
                old
            );
        }
    }
}

#[test]
fn sides_out_of_range_are_parameter_errors() {
    let bytes = png(busy_picture(40, 30));
    for side in [0, 1, MIN_OUTPUT_SIDE - 1, MAX_OUTPUT_SIDE + 1, usize::MAX] {
        // Checked before the bytes: even an empty file gives the side's error.
        for input in [&bytes[..], &[]] {
            let err = preprocess_to(input, Framing::Crop, side, &Limits::default()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Parameter, "{side}: {err}");
            assert!(matches!(err, Error::InvalidParameter { name: "side", .. }));
            let message = err.to_string();
            assert!(message.contains(&side.to_string()), "{message}");
            assert!(message.contains("16..=512"), "{message}");
        }
    }
    for side in [MIN_OUTPUT_SIDE, 100, 224, MAX_OUTPUT_SIDE] {
        let p = to(&bytes, Framing::Squash, side);
        assert_eq!((p.side, p.pixels.len()), (side, side * side * 3));
        assert_eq!((p.width, p.height, p.format), (40, 30, "png"));
        assert!(to_png_sized(&p.pixels, side).is_ok());
        assert!(matches!(
            to_png_sized(&p.pixels, side + 1),
            Err(Error::Shape(_))
        ));
    }
}

/// 256 x 256 of 2 x 2 blocks, a checkerboard of blocks: R = 128 +- 64, G = 200, B = 255 - R.
fn block_checkerboard() -> RgbImage {
    RgbImage::from_fn(256, 256, |x, y| {
        let r = if (x / 2 + y / 2) % 2 == 0 { 192 } else { 64 };
        Rgb([r, 200, 255 - r])
    })
}

#[test]
fn a_checkerboard_of_2x2_blocks_at_128_keeps_every_block() {
    // Worked by hand. 256 -> 128 is a reduction of 2: no box stage (256 < 4 * 128), the
    // Catmull-Rom kernel k is widened to 2 and output pixel i is centred on source coordinate
    // 2i + 1, so the source pixels 2i + d (d = -3..=4) get k((d - 0.5) / 2), i.e. k(1.75) =
    // -0.0234375, k(1.25) = -0.0703125, k(0.75) = 0.2265625, k(0.25) = 0.8671875 (and
    // mirrored), which sum to 2. Per block (block i = pixels 2i, 2i + 1), normalised:
    // b[i +- 2] -0.01171875, b[i +- 1] 0.078125, b[i] 0.8671875. On alternating blocks
    // (M +- A) one axis keeps 0.8671875 - 2 * 0.078125 - 2 * 0.01171875 = 0.6875 of the
    // contrast, both axes 0.6875^2 = 0.47265625: R = 128 +- 64 * 0.47265625 = 158.25 / 97.75
    // -> 158 / 98 (rounded half up), B = 127 +- 30.25 -> 157 / 97, G stays 200. This holds
    // wherever the taps stay inside the image: rows and columns 2..=125.
    let bytes = png(block_checkerboard());
    for fit in [Framing::Crop, Framing::Squash] {
        let p = to(&bytes, fit, 128);
        assert_eq!((p.side, p.pixels.len()), (128, 128 * 128 * 3));
        for row in 2..=125 {
            for col in 2..=125 {
                let expected = if (row + col) % 2 == 0 {
                    [158, 200, 97]
                } else {
                    [98, 200, 157]
                };
                assert_eq!(at(&p, row, col), expected, "{fit:?} ({row}, {col})");
            }
        }
    }
    // At 64 each output pixel covers 2 x 2 blocks: the checkerboard is (almost) gone, which is
    // why a 128 x 128 image must not be a 64 x 64 one enlarged.
    let small = preprocess(&bytes, Framing::Crop).unwrap();
    let (lo, hi) = small
        .pixels
        .chunks(3)
        .fold((255, 0), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
    assert!(hi - lo <= 20, "64 x 64: R in {lo}..={hi}");
}

/// Catmull-Rom (B = 0, C = 1/2), written out from its definition.
fn cubic(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.5 * x.powi(3) - 2.5 * x.powi(2) + 1.0
    } else if x < 2.0 {
        -0.5 * x.powi(3) + 2.5 * x.powi(2) - 4.0 * x + 2.0
    } else {
        0.0
    }
}

/// One axis of the reference: the normalised weight of each of the `n` source pixels (edge
/// pixels repeated: clamped indices add up) for output pixel `i` of `side`, the window being
/// `[start, start + len)`.
fn reference_weights(n: usize, start: f64, len: f64, side: usize, i: usize) -> Vec<f64> {
    let step = len / side as f64;
    let scale = step.max(1.0);
    let centre = start + (i as f64 + 0.5) * step;
    let mut weights = vec![0.0; n];
    let reach = (2.0 * scale).ceil() as i64 + 1;
    for j in (centre.floor() as i64 - reach)..=(centre.floor() as i64 + reach) {
        let clamped = j.clamp(0, n as i64 - 1) as usize;
        weights[clamped] += cubic((j as f64 + 0.5 - centre) / scale);
    }
    let sum: f64 = weights.iter().sum();
    weights.iter().map(|w| w / sum).collect()
}

/// The resampling of the square kept by the framing (an even margin, and smaller than
/// 4 * side on each axis: no box stage) as a direct 2-D sum in f64 over its pixels: the kept
/// square is cut out first, so its edge pixels are the ones repeated.
fn reference(image: &RgbImage, fit: Framing, side: usize) -> Vec<u8> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (x0, y0, cw, ch) = match fit {
        Framing::Crop => {
            let s = w.min(h);
            ((w - s) / 2, (h - s) / 2, s, s)
        }
        Framing::Squash => (0, 0, w, h),
    };
    let mut out = Vec::with_capacity(side * side * 3);
    for row in 0..side {
        let wy = reference_weights(ch, 0.0, ch as f64, side, row);
        for col in 0..side {
            let wx = reference_weights(cw, 0.0, cw as f64, side, col);
            let mut acc = [0f64; 3];
            for (y, &a) in wy.iter().enumerate().filter(|(_, a)| **a != 0.0) {
                for (x, &b) in wx.iter().enumerate().filter(|(_, b)| **b != 0.0) {
                    let p = image.get_pixel((x0 + x) as u32, (y0 + y) as u32).0;
                    for c in 0..3 {
                        acc[c] += a * b * f64::from(p[c]);
                    }
                }
            }
            out.extend(acc.map(|v| (v.clamp(0.0, 255.0) + 0.5).floor() as u8));
        }
    }
    out
}

#[test]
fn resampling_to_128_matches_a_direct_2d_reference() {
    // Enlarged (Crop 200 -> 128 is a reduction of 1.5625, Squash 300 -> 128 and 200 -> 128),
    // reduced by 3.9 and 5.5 (500 x 700), and enlarged from 90 x 60. The library sums in f32,
    // separably: +-1 after rounding.
    for (w, h) in [(300, 200), (500, 700), (90, 60)] {
        let image = busy_picture(w, h);
        let bytes = png(image.clone());
        for fit in [Framing::Crop, Framing::Squash] {
            let p = to(&bytes, fit, 128);
            let expected = reference(&image, fit, 128);
            let worst = p
                .pixels
                .iter()
                .zip(&expected)
                .map(|(a, b)| a.abs_diff(*b))
                .max();
            assert_eq!(p.pixels.len(), expected.len());
            assert!(
                worst <= Some(1),
                "{w} x {h} {fit:?}: max |difference| {worst:?}"
            );
        }
    }
}

#[test]
fn crop_and_squash_at_128() {
    // 256 x 128: green | red (x in 64..192) | blue.
    let image = RgbImage::from_fn(256, 128, |x, _| {
        Rgb(match x {
            0..=63 => [0, 255, 0],
            64..=191 => [255, 0, 0],
            _ => [0, 0, 255],
        })
    });
    let bytes = png(image);
    // Crop keeps the centre 128 x 128 at scale 1: exactly the red source pixels.
    let crop = to(&bytes, Framing::Crop, 128);
    assert!(crop.pixels.chunks(3).all(|p| p == [255, 0, 0]));
    // Squash halves the width: green columns 0..32, red 32..96, blue 96..128; the widened
    // taps (+-4 source pixels) blend only the 2 columns on either side of each edge.
    let squash = to(&bytes, Framing::Squash, 128);
    for row in 0..128 {
        for (cols, colour) in [
            (0..=29, [0, 255, 0]),
            (34..=93, [255, 0, 0]),
            (98..=127, [0, 0, 255]),
        ] {
            for col in cols {
                assert_eq!(at(&squash, row, col), colour, "({row}, {col})");
            }
        }
    }
}

#[test]
fn exif_orientation_at_128() {
    // Small (no reduced-scale decoding) and large (decoded at 1/4) JPEGs.
    for (w, h) in [(300, 200), (2400, 1800)] {
        let bytes = jpeg(&busy_picture(w, h), 85);
        for fit in [Framing::Crop, Framing::Squash] {
            let plain = to(&bytes, fit, 128);
            let upright = RgbImage::from_raw(128, 128, plain.pixels.clone()).unwrap();
            for big_endian in [true, false] {
                // 6: rotate 90 degrees clockwise to display; 3: 180 degrees; 8: 270.
                for (tag, rotated, size) in [
                    (6, image::imageops::rotate90(&upright), (h, w)),
                    (3, image::imageops::rotate180(&upright), (w, h)),
                    (8, image::imageops::rotate270(&upright), (h, w)),
                ] {
                    let p = to(&with_exif(&bytes, tag, big_endian), fit, 128);
                    assert_eq!((p.width, p.height), size, "{w} x {h} tag {tag}");
                    assert_eq!(p.pixels, rotated.into_raw(), "{w} x {h} {fit:?} tag {tag}");
                }
            }
        }
    }
}

#[test]
fn large_jpegs_at_128_match_the_full_size_decode() {
    // 4000 x 3000 is decoded at 1/4 for side 128 (1/8 would leave 375 < 512 pixels), 1100 x 700
    // at full size. The reference: the same JPEG decoded at full size by image-rs (zune-jpeg),
    // stored losslessly as BMP and preprocessed to 128.
    for (w, h) in [(4000, 3000), (1100, 700)] {
        let bytes = jpeg(&busy_picture(w, h), 90);
        let full = image::load_from_memory(&bytes).unwrap().to_rgb8();
        let full = encode(&DynamicImage::ImageRgb8(full), ImageFormat::Bmp);
        for fit in [Framing::Crop, Framing::Squash] {
            let reduced = to(&bytes, fit, 128);
            assert_eq!((reduced.width, reduced.height), (w, h));
            let reference = to(&full, fit, 128);
            let mean = reduced
                .pixels
                .iter()
                .zip(&reference.pixels)
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>()
                / reduced.pixels.len() as f64;
            println!("{w} x {h} {fit:?} at 128: mean |difference| {mean:.2}");
            assert!(mean < 3.0, "{w} x {h} {fit:?}: mean |difference| {mean}");
        }
    }
}

#[test]
fn every_truncation_at_128_is_an_error_or_a_true_photo() {
    let image = RgbImage::from_fn(24, 16, |x, y| Rgb([(x * 10) as u8, (y * 15) as u8, 99]));
    let dynamic = DynamicImage::ImageRgb8(image.clone());
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(24, 16, |x, y| {
        Rgba([(x * 10) as u8, 50, (y * 15) as u8, (x * y) as u8])
    }));
    let files = [
        ("png", encode(&dynamic, ImageFormat::Png)),
        ("png rgba", encode(&rgba, ImageFormat::Png)),
        ("jpeg", jpeg(&image, 80)),
        ("jpeg exif", with_exif(&jpeg(&image, 80), 6, true)),
        ("gif", encode(&dynamic, ImageFormat::Gif)),
        ("webp", encode(&dynamic, ImageFormat::WebP)),
        ("bmp", encode(&dynamic, ImageFormat::Bmp)),
    ];
    for (name, bytes) in &files {
        let whole = to(bytes, Framing::Crop, 128);
        for cut in 0..bytes.len() {
            match preprocess_to(&bytes[..cut], Framing::Crop, 128, &Limits::default()) {
                // Some decoders accept a file missing its last bytes (padding, trailer).
                Ok(p) => {
                    assert_eq!(
                        (p.side, p.pixels.len()),
                        (128, 128 * 128 * 3),
                        "{name} {cut}"
                    );
                    assert_eq!(p.format, whole.format, "{name} {cut}");
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::Photo, "{name} {cut}: {e}"),
            }
        }
    }
}
