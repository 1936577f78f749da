//! Integration tests of `purrceptron::preprocess` on valid photos: every format and colour
//! type, the framing, EXIF orientation, the resampling geometry, and the exact pixels of known
//! images. Every image is generated here, in memory. (Broken and hostile input:
//! `preprocess_hostile.rs`; size limits and memory: `preprocess_limits.rs`; large JPEGs:
//! `preprocess_jpeg.rs`.)

mod common;

use common::images::{
    assert_cols, assert_rows, busy_picture, close, encode, jpeg, px, red_blue, sha256_hex,
    uniform_jpeg, with_exif, BLUE, GREEN, RED, WHITE,
};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use purrceptron::preprocess::{preprocess, to_png, Framing, PIXELS};
use purrceptron::Error;

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

// ---- exact pixels of known images ------------------------------------------------------------

/// The known images: a name and the file's bytes. Every encoder is pinned by Cargo.lock.
fn known_images() -> Vec<(&'static str, Vec<u8>)> {
    let busy = |w, h| DynamicImage::ImageRgb8(busy_picture(w, h));
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(300, 200, |x, y| {
        Rgba([
            (x % 256) as u8,
            (y * 3 % 256) as u8,
            ((x ^ y) & 0xFF) as u8,
            (x / 2) as u8,
        ])
    }));
    let ramp16 = DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(640, 480, |x, y| {
        Rgb([
            (x * 102) as u16,
            (y * 136) as u16,
            ((x * y) % 65_536) as u16,
        ])
    }));
    vec![
        ("png 128x96", encode(&busy(128, 96), ImageFormat::Png)),
        ("png 1500x1000", encode(&busy(1500, 1000), ImageFormat::Png)),
        ("png rgba 300x200", encode(&rgba, ImageFormat::Png)),
        ("png rgb16 640x480", encode(&ramp16, ImageFormat::Png)),
        ("gif 200x150", encode(&busy(200, 150), ImageFormat::Gif)),
        ("bmp 100x70", encode(&busy(100, 70), ImageFormat::Bmp)),
        ("webp 200x150", encode(&busy(200, 150), ImageFormat::WebP)),
        ("jpeg 40x30", jpeg(&busy_picture(40, 30), 90)),
        (
            "jpeg exif 6 90x60",
            with_exif(&jpeg(&busy_picture(90, 60), 90), 6, true),
        ),
        ("jpeg 1100x700 (1/2)", jpeg(&busy_picture(1100, 700), 90)),
        ("jpeg 2400x1800 (1/4)", jpeg(&busy_picture(2400, 1800), 85)),
        ("jpeg 4000x3000 (1/8)", jpeg(&busy_picture(4000, 3000), 90)),
        (
            "jpeg cmyk 1024x768",
            uniform_jpeg(1024, 768, &[200, 100, 50, 230], Some(0)),
        ),
    ]
}

/// SHA-256 of the 64 x 64 pixels of each known image (Crop, then Squash), and of the PNG that
/// `to_png` writes for the first one. Recorded with the code as it was before it was split into
/// modules (commit 9a7fdc5), whose output the tests above check against independent references
/// (colours, ramps, a second JPEG decoder): the split, and any later refactoring, must keep
/// every byte.
const RECORDED: [(&str, &str, &str); 13] = [
    (
        "png 128x96",
        "0e9494c69e5307f88794fd40ba4eab34c8dcc8cc30e7caead80830809e57cde1",
        "166429cc5232fe05582b7a1adbd6a48d854e3abf380382d63e7636a29872056c",
    ),
    (
        "png 1500x1000",
        "293eb2c5ab043113998e1694fc56784630813efcd7016c569c5b37e511250cce",
        "a4c0f60164242e9f5fa44c28e396bb36c10da0e10bfc7878e62353fdbe07a242",
    ),
    (
        "png rgba 300x200",
        "20f767b19df68ff405899b5c6517276b93c85ac87deaf4a77e58686ddecbf52d",
        "8e6b710d1abd7b9dcc66e6bd5db797de4f4b2c4234408c689d0608c05d97802e",
    ),
    (
        "png rgb16 640x480",
        "5b69e04c1704e396aa9a026fb85105a7922cf55f7e8a02ec6abaa7d3505c8157",
        "d318b074ab0d9a881dd7dd765fb9ef780734b4102275d835c33d1c99f263ed9a",
    ),
    (
        "gif 200x150",
        "81d464b0509c3e9fe3a818b0c0f1e14c5c65dfd2d62e3276106ca32dbf2ac095",
        "d0978725f122f52785a5f435b7f44078cbb512ac55773e6e7510edcf64875cf3",
    ),
    (
        "bmp 100x70",
        "be949d641a21c5bad8b938e7943996984dd06ca877254e1a6ce5471b3a13df19",
        "f7e5f3967d55fb3d4798023ec682edceb22654ac9206af925430f4ad909f7843",
    ),
    (
        "webp 200x150",
        "2aabb7ec749fa19cdf029951d26f5b3ea1fd73aafdd6e20f4c4d2617d4f90166",
        "e1cfdf53858522b3fe8872b88f107dd7ac251cebd6284a2c2c57273ac6871003",
    ),
    (
        "jpeg 40x30",
        "1f8bb268cdaa6f1233c763392652ddbd39f5ab1ec707a160854be25211d18e22",
        "881a60763211f1579d1acd3ef403f82aa8bcf24e9ddb7f768bef182d03de1165",
    ),
    (
        "jpeg exif 6 90x60",
        "9dc0af843f901ecac3355659eb1987a36cdbd582d20ddce99a2a78e2e0a82554",
        "9fe9deb724cb751ea153d1339b66b543c8a8ec3a448bdbf7e8be1660ca71618c",
    ),
    (
        "jpeg 1100x700 (1/2)",
        "a66b16c01820bd495f5e8383e39a46353bf3c6dba0f807712b98767c114dbef0",
        "efc141497f9df17ac6d9c5ad90231d91d2b18b75cafbaa4e1c1259bbb681bc12",
    ),
    (
        "jpeg 2400x1800 (1/4)",
        "6ae676e5d87454271dd42a5299edecff8ccbf576992cd5eb131800080df174f8",
        "0d90ec5fc9b7798fd14bd02df95cd975db3c911984efdbe7245838e0cc404543",
    ),
    (
        "jpeg 4000x3000 (1/8)",
        "88e4d2ea198ec760a5dd2865d8cd2436487e6d634519620a3d20c2f6206b4c6c",
        "2402caf3f56ab4856f70c348f68a9aeee9f55e89daf8992c67ca5c66106a02e7",
    ),
    (
        "jpeg cmyk 1024x768",
        "0a9cad67594783908d1057ce525d5f2449d67c4626255dccb42177121425a91b",
        "0a9cad67594783908d1057ce525d5f2449d67c4626255dccb42177121425a91b",
    ),
];

#[test]
fn known_images_give_the_recorded_pixels() {
    let images = known_images();
    assert_eq!(images.len(), RECORDED.len());
    for ((name, bytes), (recorded, crop, squash)) in images.iter().zip(RECORDED) {
        assert_eq!(*name, recorded);
        for (fit, expected) in [(Framing::Crop, crop), (Framing::Squash, squash)] {
            let p = preprocess(bytes, fit).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(sha256_hex(&p.pixels), expected, "{name} {fit:?}");
        }
    }
    let first = preprocess(&images[0].1, Framing::Crop).unwrap();
    assert_eq!(
        sha256_hex(&to_png(&first.pixels).unwrap()),
        "d36171a017a85e61e4c1335eeb3867978d365d431d1e5f99e72d44885b4948be"
    );
}
