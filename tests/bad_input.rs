//! Bad photos not covered by tests/preprocess.rs: an animated GIF (its first frame is what the
//! model sees) and a PNG header claiming exactly 2^31 x 2^31 pixels (one more than PNG allows).

mod common;

use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::{Frame, Rgba, RgbaImage};
use purrceptron::preprocess::{preprocess, Framing, MAX_PIXELS, MAX_SIDE};
use purrceptron::Error;

#[test]
fn animated_gif_gives_its_first_frame() {
    let red = RgbaImage::from_pixel(40, 30, Rgba([255, 0, 0, 255]));
    let blue = RgbaImage::from_pixel(40, 30, Rgba([0, 0, 255, 255]));
    let mut bytes = Vec::new();
    GifEncoder::new(Cursor::new(&mut bytes))
        .encode_frames([Frame::new(red), Frame::new(blue.clone()), Frame::new(blue)])
        .unwrap();
    for fit in [Framing::Crop, Framing::Squash] {
        let p = preprocess(&bytes, fit).unwrap();
        assert_eq!((p.width, p.height, p.format), (40, 30, "gif"));
        // GIF palettes are exact: the first frame's red, unchanged by resampling.
        assert!(p.pixels.chunks(3).all(|c| c == [255, 0, 0]), "{fit:?}");
    }
}

#[test]
fn png_header_of_2_pow_31_squared_is_too_large_by_name() {
    let side = 1u32 << 31;
    // An IHDR chunk alone: 2^31 x 2^31 8-bit RGB.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr = [
        &side.to_be_bytes()[..],
        &side.to_be_bytes(),
        &[8, 2, 0, 0, 0],
    ]
    .concat();
    common::images::png_chunk(&mut png, b"IHDR", &ihdr);
    match preprocess(&png, Framing::Crop) {
        Err(Error::ImageTooLarge {
            width,
            height,
            max_side,
            max_pixels,
        }) => {
            assert_eq!((width, height), (1 << 31, 1 << 31));
            assert_eq!((max_side, max_pixels), (MAX_SIDE, MAX_PIXELS));
        }
        other => panic!("expected ImageTooLarge, got {other:?}"),
    }
}
