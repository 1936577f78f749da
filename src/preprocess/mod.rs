//! Photo bytes -> the 64x64 RGB image the model sees (or a square of another side, e.g. 128 x 128
//! for a pretrained backbone: [`preprocess_to`]).
//!
//! This is the one preprocessing path of the crate: the CLI and the browser page both call
//! [`preprocess`] (or [`preprocess_to`]), so a photo gives bit-identical model input on both.
//! Every side goes through the same steps, from the decoded photo straight to that side (a
//! 128 x 128 image is never a 64 x 64 one enlarged). The steps, for an output of `side` pixels
//! a side (64 for [`preprocess`]):
//!
//! 1. **Recognise** the format from the magic bytes. JPEG, PNG, GIF (first frame), WebP and BMP are
//!    decoded; common formats this build cannot decode (HEIC/HEIF, AVIF, TIFF, SVG, PDF, JPEG
//!    XL, ...) are named in an [`Error::UnsupportedImage`]. (TIFF is left out on purpose: it is
//!    rare for photos and its decoder would be a tenth of the wasm module.)
//! 2. **Check the size from the header, before any pixel is decoded**, against the [`Limits`]
//!    (by default at most [`MAX_SIDE`] pixels a side, [`MAX_PIXELS`] pixels, and
//!    [`MAX_DECODE_BYTES`] bytes of decoder buffers; see [`max_pixels_for`] for how the buffers
//!    are counted). Larger images (and decompression bombs, absurd headers) give
//!    [`Error::ImageTooLarge`] without allocating their pixels.
//! 3. **Decode** once, in the file's own colour type (8 or 16 bits, grey or colour, with or
//!    without alpha): at full size, except large JPEGs, which are decoded at 1/2, 1/4 or 1/8
//!    size by a scaled IDCT (`jpeg-decoder`; the largest reduction that leaves the part of the
//!    image kept by the [`Framing`] at least `4 * side` pixels a side (at most 1024), the size
//!    step 4 boxes down to anyway). A 12-megapixel photo is thus decoded at 500 x 375 for side
//!    64, at 1000 x 750 for side 128. `jpeg-decoder` is the only
//!    JPEG decoder (the tests compare it with a second one, zune-jpeg).
//! 4. **Framing** ([`Framing`]): the centred square (Crop, the default) or the whole image (Squash) is
//!    resampled to `side x side`: first an integer box average brings it to between `4 * side`
//!    (at most 1024) and twice that a side (256..=511 for side 64; a no-op for smaller images),
//!    then a Catmull-Rom filter widened to the scale factor gives `side x side` (smaller images
//!    are enlarged by the same filter). Pixels are converted to RGB on the fly; alpha is
//!    composited over **white**.
//! 5. **Orient**: the EXIF orientation (JPEG, PNG `eXIf`, WebP) is applied to the square
//!    result. Centre crop, resampling and rotation commute, so this gives the same picture as
//!    rotating first, without a full-size rotated copy.
//!
//! Resampling works on the gamma-encoded sRGB values (as PIL/scipy did for the classic dataset)
//! in `f32`, with weights computed from polynomials only (no `sin`, no platform maths library),
//! in a fixed order: the result is deterministic and identical on native targets and
//! `wasm32-unknown-unknown`.
//!
//! One module per stage: [`sniff`](self::sniff) (step 1, and header dimensions),
//! [`limits`](self::limits) (step 2), [`jpeg`](self::jpeg) (JPEG headers and step 3 for JPEGs),
//! [`resample`](self::resample) (step 4), [`orient`](self::orient) (step 5); this file holds
//! the pipeline.

mod jpeg;
mod limits;
mod orient;
mod resample;
mod sniff;

use std::io::Cursor;

use image::codecs::png::PngEncoder;
use image::error::LimitErrorKind;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat,
    ImageReader,
};

use self::jpeg::preprocess_jpeg;
use self::limits::decode_cost;
pub use self::limits::{max_pixels_for, Limits, MAX_DECODE_BYTES, MAX_PIXELS, MAX_SIDE};
use self::orient::{orient, swaps_axes};
use self::resample::{frame_window, resample, Window};
use self::sniff::{
    format_name, header_dimensions, other_format_name, sniff_unsupported, unrecognised, DECODED,
};
use crate::error::{Error, Result};

/// Side of the square image the model sees, in pixels.
pub const SIDE: usize = 64;

/// Number of `u8` values in one preprocessed image: `SIDE * SIDE * 3` = 12 288.
pub const PIXELS: usize = SIDE * SIDE * 3;

/// Smallest side [`preprocess_to`] accepts, in pixels.
pub const MIN_OUTPUT_SIDE: usize = 16;

/// Largest side [`preprocess_to`] accepts, in pixels (a pretrained backbone wants 128..=224).
pub const MAX_OUTPUT_SIDE: usize = 512;

/// How a photo of any aspect ratio becomes a square (64 x 64, or the side given to
/// [`preprocess_to`]).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Framing {
    /// Keep the largest centred square (`min(width, height)` a side), then resize it to the side.
    /// Nothing is distorted; the edges of the longer side are cut off. The default.
    #[default]
    Crop,
    /// Resize the whole image to the square, ignoring its aspect ratio (what the classic notebook
    /// does with `scipy.misc.imresize`): nothing is cut off, but shapes are stretched.
    Squash,
}

/// A photo ready for the model. (`Debug` shows the sizes, not the pixel values.)
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    /// `side * side * 3` bytes (12 288 for [`preprocess`]'s 64 x 64), row-major
    /// `(row, column, channel)`, channels R, G, B, each 0..=255 (sRGB-encoded, as stored in the
    /// file; alpha composited over white). Row 0 is the top of the upright (EXIF-oriented)
    /// picture.
    pub pixels: Vec<u8>,
    /// Side of the square `pixels`, in pixels: [`SIDE`] (64) from [`preprocess`] and
    /// [`preprocess_with`], the side asked for ([`MIN_OUTPUT_SIDE`]..=[`MAX_OUTPUT_SIDE`]) from
    /// [`preprocess_to`].
    pub side: usize,
    /// Width of the decoded original after EXIF orientation, in pixels (>= 1).
    pub width: u32,
    /// Height of the decoded original after EXIF orientation, in pixels (>= 1).
    pub height: u32,
    /// The format it was decoded from: `"jpeg"`, `"png"`, `"gif"`, `"webp"`, `"bmp"` or
    /// `"tiff"`.
    pub format: &'static str,
}

impl std::fmt::Debug for Photo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Photo")
            .field("pixels", &format_args!("[{} bytes]", self.pixels.len()))
            .field("side", &self.side)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .finish()
    }
}

/// Decodes a photo and turns it into the 64 x 64 RGB image the model sees.
///
/// `bytes` is the whole file (JPEG, PNG, GIF, WebP or BMP; any colour type, 8 or 16 bits,
/// alpha composited over white; GIF: the first frame). The result's `pixels` has
/// [`PIXELS`] = 64 x 64 x 3 bytes, row-major RGB; see [`Photo`] and the [module docs](self) for
/// the exact steps.
///
/// With the default [`Limits`]; see [`preprocess_with`].
///
/// Memory: the bytes, plus at most [`MAX_DECODE_BYTES`] of decoder buffers, plus at most ~4 MB
/// of resampling buffers. Time: mostly decoding; a 12-megapixel JPEG takes ~60 ms natively
/// (decoded at 1/8 size: the entropy decoding dominates), other 12-megapixel images spend
/// ~15 ms in the crop and resampling.
///
/// # Errors
/// - [`Error::EmptyImage`]: `bytes` is empty.
/// - [`Error::UnsupportedImage`]: not an image, or a format this build cannot decode (named
///   when recognised: HEIC/HEIF, AVIF, SVG, PDF, ...).
/// - [`Error::ImageTooLarge`]: the header declares more than [`MAX_SIDE`] pixels a side or
///   more pixels than [`max_pixels_for`] allows; nothing is decoded.
/// - [`Error::ImageDecode`]: truncated or corrupt data, or a decoder over its memory limit.
///
/// Never panics on bad bytes: this module only indexes with checked accessors, and the image-rs
/// decoders are exercised in the tests on every truncation and on random corruptions of small
/// files of each format.
pub fn preprocess(bytes: &[u8], fit: Framing) -> Result<Photo> {
    preprocess_with(bytes, fit, &Limits::default())
}

/// [`preprocess`] with other size [`Limits`]: the header is checked against `limits` (side,
/// pixels, decoder buffers) instead of the default ones; everything else is the same.
///
/// # Errors
/// As [`preprocess`]; [`Error::ImageTooLarge`] names `limits.max_side` and the pixel limit.
pub fn preprocess_with(bytes: &[u8], fit: Framing, limits: &Limits) -> Result<Photo> {
    preprocess_to(bytes, fit, SIDE, limits)
}

/// [`preprocess_with`] to a square of `side` pixels instead of 64: the same decoding, EXIF
/// orientation, framing and resampling, from the decoded photo straight to `side x side` (e.g.
/// 128 for a pretrained backbone). `preprocess_to(bytes, fit, SIDE, limits)` is exactly
/// `preprocess_with(bytes, fit, limits)`.
///
/// `side` is in [`MIN_OUTPUT_SIDE`]..=[`MAX_OUTPUT_SIDE`] (16..=512); the result's `pixels` has
/// `side * side * 3` bytes, row-major RGB, and its `side` field is `side`. Large JPEGs are
/// decoded at the reduction that suits `side` (a 4000 x 3000 photo at 1/8 for side 64, 1/4 for
/// 128, 1/2 for 224).
///
/// Memory: as [`preprocess`], with resampling buffers of up to ~4 MB for side 64, ~13 MB for
/// 128, ~65 MB from 256 on.
///
/// # Errors
/// [`Error::InvalidParameter`] (kind parameter) if `side` is outside 16..=512, before the bytes
/// are looked at; otherwise as [`preprocess_with`].
pub fn preprocess_to(bytes: &[u8], fit: Framing, side: usize, limits: &Limits) -> Result<Photo> {
    if !(MIN_OUTPUT_SIDE..=MAX_OUTPUT_SIDE).contains(&side) {
        return Err(Error::InvalidParameter {
            name: "side",
            value: side.to_string(),
            expected: "the side of the preprocessed square must be 16..=512 pixels",
        });
    }
    if bytes.is_empty() {
        return Err(Error::EmptyImage);
    }
    if let Some(what) = sniff_unsupported(bytes) {
        return Err(Error::UnsupportedImage(what));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::ImageDecode(format!("cannot read the bytes: {e}")))?;
    let format = match reader.format() {
        Some(format) => format,
        None => return Err(Error::UnsupportedImage(unrecognised(bytes))),
    };
    let Some(name) = format_name(format) else {
        return Err(Error::UnsupportedImage(format!(
            "{} images cannot be decoded by this build (use {DECODED})",
            other_format_name(format)
        )));
    };
    // JPEGs have a path of their own: one decoder (`jpeg-decoder`) that can also decode at
    // reduced scale, instead of two.
    if format == ImageFormat::Jpeg {
        return preprocess_jpeg(bytes, fit, side, limits);
    }
    reader.limits(limits.decoder_limits(limits.max_decode_bytes));

    // The header only: nothing proportional to the image size is allocated yet.
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| header_error(e, bytes, format, limits))?;
    let (width, height) = decoder.dimensions();
    check_not_empty(width, height, name)?;
    let cost = decode_cost(bytes, format, decoder.color_type().bytes_per_pixel());
    let budget = limits.check_size(width, height, &cost)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let window = frame_window(width, height, fit);
    // Whatever the decoded image does not use is left for the decoder's other buffers.
    decoder
        .set_limits(limits.decoder_limits(limits.max_decode_bytes.saturating_sub(budget)))
        .map_err(|e| decode_error(e, name, limits))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, name, limits))?;
    finish(image, &window, 1, side, orientation, (width, height), name)
}

fn check_not_empty(width: u32, height: u32, name: &str) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::ImageDecode(format!(
            "the {} header declares an empty image ({width} x {height} pixels)",
            name.to_uppercase()
        )));
    }
    Ok(())
}

/// Steps 4 and 5 for a decoded image: `image` is the original decoded at `1 / scale` of its
/// `(width, height)` (as stored, before orientation); the result is `side x side`.
fn finish(
    image: DynamicImage,
    window: &Window,
    scale: u32,
    side: usize,
    orientation: Orientation,
    (width, height): (u32, u32),
    name: &'static str,
) -> Result<Photo> {
    let small = resample(&image, &window.scaled(scale), side)?;
    drop(image);
    let pixels = orient(small, orientation, side)?;
    let (width, height) = if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    Ok(Photo {
        pixels,
        side,
        width,
        height,
        format: name,
    })
}

/// Encodes a 64 x 64 RGB buffer (as in [`Photo::pixels`]: [`PIXELS`] bytes, row-major RGB) as
/// PNG bytes, e.g. to show "the exact 64x64 image the model sees".
///
/// # Errors
/// [`Error::Shape`] if `pixels.len() != PIXELS`; [`Error::ImageEncode`] if the encoder fails.
pub fn to_png(pixels: &[u8]) -> Result<Vec<u8>> {
    to_png_sized(pixels, SIDE)
}

/// [`to_png`] for a square of `side` pixels (`pixels`: `side * side * 3` bytes, row-major RGB,
/// as in a [`Photo`] from [`preprocess_to`]).
///
/// # Errors
/// [`Error::Shape`] if `pixels.len() != side * side * 3` or the side does not fit a PNG;
/// [`Error::ImageEncode`] if the encoder fails.
pub fn to_png_sized(pixels: &[u8], side: usize) -> Result<Vec<u8>> {
    let expected = side.checked_mul(side).and_then(|n| n.checked_mul(3));
    let side32 = u32::try_from(side).ok().filter(|&s| s > 0);
    let (Some(expected), Some(side32)) = (expected, side32) else {
        return Err(Error::Shape(format!("no PNG of {side} x {side} pixels")));
    };
    if pixels.len() != expected {
        return Err(Error::Shape(format!(
            "a {side} x {side} RGB image has {expected} bytes, got {}",
            pixels.len()
        )));
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(pixels, side32, side32, ExtendedColorType::Rgb8)
        .map_err(|e| Error::ImageEncode(format!("the {side} x {side} PNG: {e}")))?;
    Ok(png)
}

// ---- errors --------------------------------------------------------------------------------

/// An error while reading the header: if the header declares an image over the limits (which
/// is why the decoders refuse), say so with its dimensions.
fn header_error(error: ImageError, bytes: &[u8], format: ImageFormat, limits: &Limits) -> Error {
    if let Some(too_large) = header_dimensions(bytes, format)
        .and_then(|(width, height)| limits.header_too_large(width, height))
    {
        return too_large;
    }
    decode_error(error, format_name(format).unwrap_or("image"), limits)
}

fn decode_error(error: ImageError, name: &str, limits: &Limits) -> Error {
    let upper = name.to_uppercase();
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => Error::ImageDecode(format!(
                "the {upper} image is larger than {} pixels a side",
                limits.max_side
            )),
            _ => Error::ImageDecode(format!(
                "decoding this {upper} image needs more than the {} MiB memory limit",
                limits.max_decode_bytes >> 20
            )),
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::ImageDecode(format!("the {upper} file is truncated"))
        }
        ImageError::IoError(io) => Error::ImageDecode(format!("{upper}: {io}")),
        ImageError::Unsupported(unsupported) => {
            Error::UnsupportedImage(format!("{upper}: {unsupported}"))
        }
        // Some decoders end their text with a newline, which would break the message's line.
        ImageError::Decoding(decoding) => Error::ImageDecode(format!(
            "the {upper} data is corrupt or truncated ({})",
            decoding.to_string().trim_end()
        )),
        other => Error::ImageDecode(format!("{upper}: {other}")),
    }
}
