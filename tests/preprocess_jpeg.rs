//! Large JPEGs in `purrceptron::preprocess`: decoded at 1/2, 1/4 or 1/8 scale by the scaled
//! IDCT, they give nearly the pixels of a full-size decode by another decoder (zune-jpeg),
//! without ever allocating a full-size buffer; CMYK, YCCK and grey JPEGs; EXIF orientation.

mod common;

use common::images::{
    busy_picture, close, encode, jpeg, largest_alloc, peak_alloc, px, uniform_jpeg, with_exif,
    Counting, MB,
};
use image::{DynamicImage, ImageFormat, RgbImage};
use purrceptron::preprocess::{preprocess, Framing, Photo, SIDE};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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
