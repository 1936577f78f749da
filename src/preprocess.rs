//! Photo bytes -> the 64x64 RGB image the model sees.
//!
//! This is the one preprocessing path of the crate: the CLI and the browser page both call
//! [`preprocess`], so a photo gives bit-identical model input on both. The steps:
//!
//! 1. **Recognise** the format from the magic bytes. JPEG, PNG, GIF (first frame), WebP and BMP are
//!    decoded; common formats this build cannot decode (HEIC/HEIF, AVIF, TIFF, SVG, PDF, JPEG
//!    XL, ...) are named in an [`Error::UnsupportedImage`]. (TIFF is left out on purpose: it is
//!    rare for photos and its decoder would be a tenth of the wasm module.)
//! 2. **Check the size from the header, before any pixel is decoded**: at most [`MAX_SIDE`]
//!    pixels a side, [`MAX_PIXELS`] pixels, and [`MAX_DECODE_BYTES`] bytes of decoder buffers
//!    (see [`max_pixels_for`] for how the buffers are counted). Larger images (and decompression
//!    bombs, absurd headers) give [`Error::ImageTooLarge`] without allocating their pixels.
//! 3. **Decode** once, in the file's own colour type (8 or 16 bits, grey or colour, with or
//!    without alpha): at full size, except large JPEGs, which are decoded at 1/2, 1/4 or 1/8
//!    size by a scaled IDCT (`jpeg-decoder`; the largest reduction that leaves the part of the
//!    image kept by the [`Framing`] at least 256 pixels a side, the size step 4 boxes down to
//!    anyway). A 12-megapixel photo is thus decoded at 500 x 375. `jpeg-decoder` is the only
//!    JPEG decoder (the tests compare it with a second one, zune-jpeg).
//! 4. **Framing** ([`Framing`]): the centred square (Crop, the default) or the whole image (Squash) is
//!    resampled to 64 x 64: first an integer box average brings it to between 256 and 511 pixels
//!    a side (a no-op for smaller images), then a Catmull-Rom filter widened to the scale factor
//!    gives 64 x 64. Pixels are converted to RGB on the fly; alpha is composited over **white**.
//! 5. **Orient**: the EXIF orientation (JPEG, PNG `eXIf`, WebP) is applied to the 64x64
//!    result. Centre crop, resampling and rotation commute, so this gives the same picture as
//!    rotating first, without a full-size rotated copy.
//!
//! Resampling works on the gamma-encoded sRGB values (as PIL/scipy did for the classic dataset)
//! in `f32`, with weights computed from polynomials only (no `sin`, no platform maths library),
//! in a fixed order: the result is deterministic and identical on native targets and
//! `wasm32-unknown-unknown`.

use std::io::Cursor;

use image::codecs::png::PngEncoder;
use image::error::LimitErrorKind;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, GenericImageView, ImageDecoder, ImageEncoder, ImageError,
    ImageFormat, ImageReader, Limits, RgbImage,
};

use crate::error::{Error, Result};

/// Side of the square image the model sees, in pixels.
pub const SIDE: usize = 64;

/// Number of `u8` values in one preprocessed image: `SIDE * SIDE * 3` = 12 288.
pub const PIXELS: usize = SIDE * SIDE * 3;

/// Largest accepted width or height of a photo, in pixels, as stored in the file (before EXIF
/// orientation). Panoramas up to 16 384 px wide pass; headers claiming more are refused unread.
pub const MAX_SIDE: u32 = 16_384;

/// Largest accepted number of pixels (width x height): 2^26 = 67 108 864, i.e. 8192 x 8192.
/// Real phone photos (12, 48 and 50 megapixels, e.g. 8160 x 6144) pass.
pub const MAX_PIXELS: u64 = 1 << 26;

/// Memory budget for the decoder's buffers, in bytes: 256 MiB.
///
/// The decoded image (`width * height * bytes per pixel`: 1 for grey, 3 for RGB8, 4 for RGBA8,
/// up to 8 for RGBA16) counts against it, plus what each decoder allocates in proportion to the
/// image (measured with image 0.25 and jpeg-decoder 0.3): WebP +4 bytes/pixel (lossless decodes to RGBA and copies; lossy keeps a YUV frame; +8 if
/// animated), GIF +1 (palette indices), progressive JPEG + its DCT coefficients (2 bytes per
/// sample of each component; CMYK JPEG +3 for its conversion to RGB). What is left is handed to the decoder as
/// `image::Limits::max_alloc` for its other buffers. Peak memory is therefore at most about the
/// input bytes (plus a copy of them for JPEG) plus this budget plus ~4 MB.
pub const MAX_DECODE_BYTES: u64 = 256 << 20;

/// Width, in pixels, that the integer box pre-reduction aims at before the fine filter:
/// the box factor is `floor(side / BOX_TARGET)`, leaving 256..=511 pixels a side.
const BOX_TARGET: f64 = (4 * SIDE) as f64;

/// The formats this build decodes, for messages.
const DECODED: &str = "JPEG, PNG, GIF, WebP or BMP";

/// How a photo of any aspect ratio becomes a 64 x 64 square.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Framing {
    /// Keep the largest centred square (`min(width, height)` a side), then resize it to 64 x 64.
    /// Nothing is distorted; the edges of the longer side are cut off. The default.
    #[default]
    Crop,
    /// Resize the whole image to 64 x 64, ignoring its aspect ratio (what the classic notebook
    /// does with `scipy.misc.imresize`): nothing is cut off, but shapes are stretched.
    Squash,
}

/// A photo ready for the model. (`Debug` shows the sizes, not the 12 288 pixel values.)
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    /// `SIDE * SIDE * 3` = 12 288 bytes, row-major `(row, column, channel)`, channels R, G, B,
    /// each 0..=255 (sRGB-encoded, as stored in the file; alpha composited over white). Row 0 is
    /// the top of the upright (EXIF-oriented) picture.
    pub pixels: Vec<u8>,
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
        return preprocess_jpeg(bytes, fit);
    }
    reader.limits(decoder_limits(MAX_DECODE_BYTES));

    // The header only: nothing proportional to the image size is allocated yet.
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| header_error(e, bytes, format))?;
    let (width, height) = decoder.dimensions();
    check_not_empty(width, height, name)?;
    let cost = decode_cost(bytes, format, decoder.color_type().bytes_per_pixel());
    let budget = check_size(width, height, &cost)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let window = frame_window(width, height, fit);
    // Whatever the decoded image does not use is left for the decoder's other buffers.
    decoder
        .set_limits(decoder_limits(MAX_DECODE_BYTES.saturating_sub(budget)))
        .map_err(|e| decode_error(e, name))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, name))?;
    finish(image, &window, 1, orientation, (width, height), name)
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
/// `(width, height)` (as stored, before orientation).
fn finish(
    image: DynamicImage,
    window: &Window,
    scale: u32,
    orientation: Orientation,
    (width, height): (u32, u32),
    name: &'static str,
) -> Result<Photo> {
    let small = resample(&image, &window.scaled(scale))?;
    drop(image);
    let pixels = orient(small, orientation)?;
    let (width, height) = if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    Ok(Photo {
        pixels,
        width,
        height,
        format: name,
    })
}

/// Encodes a 64 x 64 RGB buffer (as in [`Photo::pixels`]: [`PIXELS`] bytes, row-major RGB) as
/// PNG bytes, e.g. to show "the exact 64x64 image the model sees".
///
/// # Errors
/// [`Error::Shape`] if `pixels.len() != PIXELS`.
pub fn to_png(pixels: &[u8]) -> Result<Vec<u8>> {
    if pixels.len() != PIXELS {
        return Err(Error::Shape(format!(
            "a 64 x 64 RGB image has {PIXELS} bytes, got {}",
            pixels.len()
        )));
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(pixels, SIDE as u32, SIDE as u32, ExtendedColorType::Rgb8)
        .map_err(|e| Error::ImageDecode(format!("cannot encode the 64 x 64 PNG: {e}")))?;
    Ok(png)
}

/// The largest number of pixels accepted for an image whose decoding costs `bytes_per_pixel`
/// bytes of buffers per pixel: `min(MAX_PIXELS, MAX_DECODE_BYTES / bytes_per_pixel)`.
///
/// E.g. baseline JPEG, RGB8 PNG, BMP: 3 bytes -> 67 108 864 (8192 x 8192, [`MAX_PIXELS`]);
/// RGBA8 PNG: 4 -> 67 108 864; GIF: 5 -> 53 687 091; RGB16 PNG, progressive 4:2:0
/// JPEG: 6 -> 44 739 242; WebP: 7 -> 38 347 922; RGBA16 PNG: 8 -> 33 554 432; progressive
/// 4:4:4 JPEG: 9 -> 29 826 161. See [`MAX_DECODE_BYTES`] for what counts.
pub fn max_pixels_for(bytes_per_pixel: u64) -> u64 {
    MAX_PIXELS.min(MAX_DECODE_BYTES / bytes_per_pixel.max(1))
}

// ---- size checks ---------------------------------------------------------------------------

/// What decoding an image costs, in bytes of buffers: `per_pixel` bytes for each pixel plus,
/// for a progressive JPEG, its coefficients (which depend on the chroma subsampling).
struct Cost {
    per_pixel: u64,
    /// Progressive JPEG: the exact coefficient bytes, computed from the frame header.
    coefficients: Option<u64>,
}

fn decode_cost(bytes: &[u8], format: ImageFormat, bytes_per_pixel: u8) -> Cost {
    let bpp = u64::from(bytes_per_pixel);
    match format {
        // Lossless WebP decodes into RGBA and copies; lossy keeps a YUV frame (1.5 bytes/pixel);
        // animated (VP8X flag 0x02) composes the first frame on an RGBA canvas, from an RGBA
        // frame buffer.
        ImageFormat::WebP => {
            let animated = bytes.get(12..16) == Some(b"VP8X")
                && bytes.get(20).is_some_and(|flags| flags & 0x02 != 0);
            Cost {
                per_pixel: bpp + if animated { 8 } else { 4 },
                coefficients: None,
            }
        }
        // The gif crate keeps the frame's palette indices (1 byte/pixel) besides the RGBA output.
        ImageFormat::Gif => Cost {
            per_pixel: bpp + 1,
            coefficients: None,
        },
        ImageFormat::Jpeg => Cost {
            per_pixel: bpp,
            coefficients: jpeg_header(bytes)
                .filter(|h| h.progressive)
                .map(|h| h.coefficient_bytes()),
        },
        _ => Cost {
            per_pixel: bpp,
            coefficients: None,
        },
    }
}

/// Refuses images over the limits; returns the bytes of buffers the decoding will use.
fn check_size(width: u32, height: u32, cost: &Cost) -> Result<u64> {
    let pixels = u64::from(width) * u64::from(height);
    let needed = pixels
        .saturating_mul(cost.per_pixel)
        .saturating_add(cost.coefficients.unwrap_or(0));
    // Bytes per pixel, rounded up, including the coefficients.
    let per_pixel = needed.div_ceil(pixels.max(1));
    let max_pixels = max_pixels_for(per_pixel);
    if width > MAX_SIDE || height > MAX_SIDE || pixels > max_pixels || needed > MAX_DECODE_BYTES {
        return Err(Error::ImageTooLarge {
            width: width.into(),
            height: height.into(),
            max_side: MAX_SIDE,
            max_pixels,
        });
    }
    Ok(needed)
}

fn decoder_limits(max_alloc: u64) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(max_alloc);
    limits
}

// ---- errors --------------------------------------------------------------------------------

/// An error while reading the header: if the header declares an image over the limits (which
/// is why the decoders refuse), say so with its dimensions.
fn header_error(error: ImageError, bytes: &[u8], format: ImageFormat) -> Error {
    if let Some((width, height)) = header_dimensions(bytes, format) {
        if width > u64::from(MAX_SIDE)
            || height > u64::from(MAX_SIDE)
            || width.saturating_mul(height) > MAX_PIXELS
        {
            return Error::ImageTooLarge {
                width,
                height,
                max_side: MAX_SIDE,
                max_pixels: MAX_PIXELS,
            };
        }
    }
    decode_error(error, format_name(format).unwrap_or("image"))
}

fn decode_error(error: ImageError, name: &str) -> Error {
    let upper = name.to_uppercase();
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => Error::ImageDecode(format!(
                "the {upper} image is larger than {MAX_SIDE} pixels a side"
            )),
            _ => Error::ImageDecode(format!(
                "decoding this {upper} image needs more than the {} MiB memory limit",
                MAX_DECODE_BYTES >> 20
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

fn format_name(format: ImageFormat) -> Option<&'static str> {
    match format {
        ImageFormat::Jpeg => Some("jpeg"),
        ImageFormat::Png => Some("png"),
        ImageFormat::Gif => Some("gif"),
        ImageFormat::WebP => Some("webp"),
        ImageFormat::Bmp => Some("bmp"),
        _ => None,
    }
}

fn other_format_name(format: ImageFormat) -> String {
    match format {
        ImageFormat::Avif => "AVIF".into(),
        ImageFormat::Tiff => "TIFF".into(),
        ImageFormat::Ico => "ICO (icon)".into(),
        ImageFormat::Pnm => "PNM (Netpbm)".into(),
        ImageFormat::Dds => "DDS".into(),
        ImageFormat::Hdr => "Radiance HDR".into(),
        ImageFormat::OpenExr => "OpenEXR".into(),
        ImageFormat::Qoi => "QOI".into(),
        ImageFormat::Farbfeld => "Farbfeld".into(),
        ImageFormat::Tga => "TGA".into(),
        other => format!("{other:?}"),
    }
}

// ---- recognising what cannot be decoded ------------------------------------------------------

/// Names formats this build cannot decode, from their first bytes.
fn sniff_unsupported(bytes: &[u8]) -> Option<String> {
    // ISO base media file format: `size` `ftyp` `major brand` `minor version` `compatible...`
    if bytes.get(4..8) == Some(b"ftyp") {
        let box_len = be_u32(bytes, 0).map_or(0, |n| n as usize).min(4096);
        let mut brands: Vec<&[u8]> = bytes.get(8..12).into_iter().collect();
        if let Some(compatible) = bytes.get(16..box_len.min(bytes.len())) {
            brands.extend(compatible.chunks_exact(4));
        }
        let has = |list: &[&[u8]]| brands.iter().any(|b| list.contains(b));
        let major = brands.first().copied().unwrap_or(b"");
        let heif: &[&[u8]] = &[
            b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
        ];
        let avif: &[&[u8]] = &[b"avif", b"avis"];
        let video: &[&[u8]] = &[
            b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"avc1", b"3gp4", b"3gp5",
            b"3g2a", b"dash",
        ];
        return Some(if avif.contains(&major) || (!has(heif) && has(avif)) {
            "AVIF images cannot be decoded by this build: convert the photo to JPEG or PNG first"
                .into()
        } else if has(heif) || major == b"mif1" || major == b"msf1" || major == b"mif2" {
            "HEIC/HEIF images (the iPhone's default photo format) cannot be decoded by this \
             build: convert the photo to JPEG or PNG first (on an iPhone: Settings > Camera > \
             Formats > Most Compatible)"
                .into()
        } else if major == b"crx " {
            "Canon CR3 raw photos cannot be decoded: export a JPEG first".into()
        } else if major == b"jp2 " || major == b"jpx " {
            "JPEG 2000 images cannot be decoded by this build".into()
        } else if has(video) {
            "this is a video (MP4/QuickTime), not an image".into()
        } else {
            format!(
                "an ISO media file (brand '{}'), not an image this build can decode",
                String::from_utf8_lossy(major).trim()
            )
        });
    }
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"%PDF-") {
        return Some("PDF documents are not images: export the page as PNG or JPEG".into());
    }
    if starts(b"%!PS") || starts(&[0xC5, 0xD0, 0xD3, 0xC6]) {
        return Some("PostScript/EPS documents are not images this build can decode".into());
    }
    if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Some("JPEG XL images cannot be decoded by this build".into());
    }
    if starts(b"\0\0\0\x0cjP  \r\n\x87\n") || starts(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Some("JPEG 2000 images cannot be decoded by this build".into());
    }
    if starts(b"8BPS") {
        return Some("Photoshop PSD files cannot be decoded: export a JPEG or PNG".into());
    }
    if starts(b"PK\x03\x04") {
        return Some("this is a ZIP archive, not an image: unpack it first".into());
    }
    sniff_markup(bytes)
}

/// SVG, HTML and XML: text starting with `<` (after a BOM and whitespace).
fn sniff_markup(bytes: &[u8]) -> Option<String> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let head: Vec<u8> = text
        .get(start..)?
        .iter()
        .take(4096)
        .map(u8::to_ascii_lowercase)
        .collect();
    if !head.starts_with(b"<") {
        return None;
    }
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if contains(b"<svg") {
        Some("SVG (vector graphics) cannot be decoded: export it as PNG or JPEG first".into())
    } else if head.starts_with(b"<!doctype html") || contains(b"<html") {
        Some("this is an HTML web page, not an image (save the image itself)".into())
    } else if head.starts_with(b"<?xml") {
        Some("this is an XML document, not an image".into())
    } else {
        None
    }
}

fn unrecognised(bytes: &[u8]) -> String {
    let head = bytes.get(..512).unwrap_or(bytes);
    let texty = match std::str::from_utf8(head) {
        Ok(s) => s.chars().all(|c| !c.is_control() || c.is_whitespace()),
        // A multi-byte character cut at the end of the prefix is still text.
        Err(e) => e.error_len().is_none(),
    };
    if texty {
        format!("not an image: the file looks like text (unrecognised format; use {DECODED})")
    } else {
        format!("not an image (unrecognised format; use {DECODED})")
    }
}

// ---- header parsing (only for messages and memory accounting) ---------------------------------

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(s))
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

fn le_u24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([*s.first()?, *s.get(1)?, *s.get(2)?, 0]))
}

/// Width and height as declared by the header, read by hand: used to name the size of images
/// that the decoders refuse to open because of the limits.
fn header_dimensions(b: &[u8], format: ImageFormat) -> Option<(u64, u64)> {
    let dims = match format {
        ImageFormat::Png if b.get(12..16) == Some(b"IHDR") => {
            (be_u32(b, 16)?.into(), be_u32(b, 20)?.into())
        }
        ImageFormat::Gif => (le_u16(b, 6)?.into(), le_u16(b, 8)?.into()),
        ImageFormat::Bmp => {
            if le_u32(b, 14)? == 12 {
                (le_u16(b, 18)?.into(), le_u16(b, 20)?.into())
            } else {
                let w = le_u32(b, 18)? as i32;
                let h = le_u32(b, 22)? as i32;
                (w.unsigned_abs().into(), h.unsigned_abs().into())
            }
        }
        ImageFormat::Jpeg => {
            let h = jpeg_header(b)?;
            (h.width.into(), h.height.into())
        }
        ImageFormat::WebP => match b.get(12..16)? {
            b"VP8X" => (u64::from(le_u24(b, 24)?) + 1, u64::from(le_u24(b, 27)?) + 1),
            b"VP8L" => {
                let bits = le_u32(b, 21)?;
                (
                    u64::from(bits & 0x3fff) + 1,
                    u64::from((bits >> 14) & 0x3fff) + 1,
                )
            }
            b"VP8 " => (
                (le_u16(b, 26)? & 0x3fff).into(),
                (le_u16(b, 28)? & 0x3fff).into(),
            ),
            _ => return None,
        },
        _ => return None,
    };
    Some(dims)
}

/// The frame header (SOFn) of a JPEG.
struct JpegHeader {
    width: u16,
    height: u16,
    progressive: bool,
    /// Horizontal and vertical sampling factors of each component.
    sampling: Vec<(u8, u8)>,
}

impl JpegHeader {
    /// Bytes of the DCT coefficients a progressive decode keeps for the whole image: one `i16`
    /// per sample of each component, padded to whole MCUs.
    fn coefficient_bytes(&self) -> u64 {
        let h_max = u64::from(self.sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1));
        let v_max = u64::from(self.sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1));
        let mcus_x = u64::from(self.width).div_ceil(8 * h_max);
        let mcus_y = u64::from(self.height).div_ceil(8 * v_max);
        self.sampling
            .iter()
            .map(|&(h, v)| mcus_x * mcus_y * 64 * u64::from(h) * u64::from(v) * 2)
            .sum()
    }
}

/// Walks the JPEG marker segments up to the first frame header.
fn jpeg_header(b: &[u8]) -> Option<JpegHeader> {
    if b.get(0..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2usize;
    loop {
        if *b.get(at)? != 0xFF {
            return None;
        }
        while *b.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *b.get(at)?;
        at += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(be_u16(b, at)?);
        if len < 2 {
            return None;
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let seg = b.get(at.checked_add(2)?..at.checked_add(len)?)?;
            let components = usize::from(*seg.get(5)?);
            let sampling = seg
                .get(6..6 + 3 * components)?
                .chunks_exact(3)
                .map(|c| {
                    (
                        c.get(1).map_or(1, |hv| hv >> 4),
                        c.get(1).map_or(1, |hv| hv & 15),
                    )
                })
                .collect();
            return Some(JpegHeader {
                height: be_u16(seg, 1)?,
                width: be_u16(seg, 3)?,
                progressive: marker == 0xC2,
                sampling,
            });
        }
        at = at.checked_add(len)?;
    }
}

// ---- reduced-scale JPEG decoding -------------------------------------------------------------

/// The JPEG reduction (1, 2, 4 or 8) to decode with: the largest that leaves the window at least
/// [`BOX_TARGET`] (256) pixels on each side, the size the box stage of [`resample`] aims at, so
/// that the scaled IDCT only replaces part of that box averaging.
fn jpeg_scale(window: &Window) -> u32 {
    let side = window.width.min(window.height);
    [8, 4, 2]
        .into_iter()
        .find(|&s| side / f64::from(s) >= BOX_TARGET)
        .unwrap_or(1)
}

/// Decodes and preprocesses a JPEG with `jpeg-decoder`. Large JPEGs are decoded at 1/2, 1/4 or
/// 1/8 of their size with its scaled IDCT (only the DC coefficient for 1/8, a 2x2 or 4x4 IDCT
/// for 1/4 and 1/2; all the entropy-coded data is still read); see [`jpeg_scale`]. Lossless
/// JPEGs are decoded at full size.
///
/// `jpeg-decoder` is built with `platform_independent` (scalar code only): the result is the same
/// on every target. (Natively, without rayon, it still hands each component's rows of
/// coefficients to a thread of its own; on wasm32 it decodes on the calling thread. Same result;
/// natively the rows queued for those threads are extra memory, a few MB in practice.)
fn preprocess_jpeg(bytes: &[u8], fit: Framing) -> Result<Photo> {
    use jpeg_decoder::{CodingProcess, Decoder, PixelFormat};

    let mut decoder = Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| Error::ImageDecode("the JPEG file has no frame header".into()))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    check_not_empty(width, height, "jpeg")?;
    // CMYK is converted to RGB after decoding: both buffers exist at once.
    let bytes_per_pixel = match info.pixel_format {
        PixelFormat::CMYK32 => 7,
        other => other.pixel_bytes(),
    };
    let cost = decode_cost(bytes, ImageFormat::Jpeg, bytes_per_pixel as u8);
    let budget = check_size(width, height, &cost)?;
    decoder.set_max_decoding_buffer_size(usize::try_from(budget).unwrap_or(usize::MAX));
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let window = frame_window(width, height, fit);

    let mut scale = match info.coding_process {
        CodingProcess::Lossless => 1,
        _ => jpeg_scale(&window),
    };
    if scale > 1 {
        let (w, h) = (
            info.width.div_ceil(scale as u16),
            info.height.div_ceil(scale as u16),
        );
        if decoder.scale(w, h).map_err(jpeg_error)? != (w, h) {
            // Not the reduction asked for: decode at full size rather than guess the geometry.
            decoder.scale(info.width, info.height).map_err(jpeg_error)?;
            scale = 1;
        }
    }
    let data = decoder.decode().map_err(jpeg_error)?;
    let (w, h) = (width.div_ceil(scale), height.div_ceil(scale));
    let pixel_format = decoder.info().map_or(info.pixel_format, |i| i.pixel_format);
    let expected = w as usize * h as usize * pixel_format.pixel_bytes();
    if data.len() != expected {
        return Err(Error::ImageDecode(format!(
            "the JPEG decoder returned {} bytes for a {w} x {h} {pixel_format:?} image \
             ({expected} expected)",
            data.len()
        )));
    }
    let image = match pixel_format {
        PixelFormat::L8 => image::GrayImage::from_raw(w, h, data).map(DynamicImage::ImageLuma8),
        PixelFormat::RGB24 => RgbImage::from_raw(w, h, data).map(DynamicImage::ImageRgb8),
        PixelFormat::CMYK32 => {
            let rgb = data.chunks_exact(4).flat_map(cmyk_to_rgb).collect();
            RgbImage::from_raw(w, h, rgb).map(DynamicImage::ImageRgb8)
        }
        // Lossless JPEG with more than 8 bits: native-endian 16-bit samples.
        PixelFormat::L16 => {
            let samples = data
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect();
            image::ImageBuffer::from_raw(w, h, samples).map(DynamicImage::ImageLuma16)
        }
    };
    let image = image
        .ok_or_else(|| Error::ImageDecode("the JPEG decoder returned too few bytes".into()))?;
    finish(image, &window, scale, orientation, (width, height), "jpeg")
}

fn jpeg_error(error: jpeg_decoder::Error) -> Error {
    use jpeg_decoder::Error as E;
    match error {
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::ImageDecode("the JPEG file is truncated".into())
        }
        E::Io(io) => Error::ImageDecode(format!("JPEG: {io}")),
        E::Format(what) if what.contains("exceeds maximum allowed size") => {
            Error::ImageDecode(format!(
                "decoding this JPEG image needs more than the {} MiB memory limit",
                MAX_DECODE_BYTES >> 20
            ))
        }
        E::Format(what) => {
            Error::ImageDecode(format!("the JPEG data is corrupt or truncated ({what})"))
        }
        E::Unsupported(feature) => Error::UnsupportedImage(format!(
            "this JPEG uses a feature this build cannot decode ({feature:?}): \
             re-save it as a baseline JPEG or PNG"
        )),
        E::Internal(e) => Error::ImageDecode(format!("JPEG: {e}")),
    }
}

/// `jpeg-decoder`'s CMYK (and YCCK, converted to CMYK) pixel to RGB as zune-jpeg (the tests'
/// reference decoder) does it: `R = (255 - C) * (255 - K) / 255` rounded as zune's `blinn_8x8`
/// (zune works on the stored, Adobe-inverted values, which are `255 - C` and `255 - K` here).
fn cmyk_to_rgb(p: &[u8]) -> [u8; 3] {
    let k = 255 - p.get(3).copied().unwrap_or(0);
    let blinn = |c: u8| {
        let t = i32::from(255 - c) * i32::from(k) + 128;
        ((t + (t >> 8)) >> 8) as u8
    };
    [0, 1, 2].map(|i| blinn(p.get(i).copied().unwrap_or(0)))
}

// ---- resampling ----------------------------------------------------------------------------

/// Catmull-Rom cubic (B = 0, C = 1/2): 1 at 0, 0 at the other integers, support (-2, 2).
fn catmull_rom(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        (1.5 * x - 2.5) * x * x + 1.0
    } else if x < 2.0 {
        ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    } else {
        0.0
    }
}

/// Filter taps along one axis: for each of the `out` destination pixels, the first source index
/// and the normalised weights of consecutive source pixels. The source window starts at `start`
/// and is `len` pixels long, in source pixel units (pixel `j` covers `[j, j + 1)`); indices
/// outside `0..n` are clamped to the edge.
fn axis_taps(n: usize, start: f64, len: f64, out: usize) -> Vec<(usize, Vec<f32>)> {
    let step = len / out as f64;
    let scale = step.max(1.0);
    let support = 2.0 * scale;
    let last = n.saturating_sub(1) as i64;
    (0..out)
        .map(|i| {
            let center = start + (i as f64 + 0.5) * step;
            let first = (center - support).floor() as i64;
            let end = (center + support).ceil() as i64;
            let lo = first.clamp(0, last);
            let hi = end.clamp(0, last);
            let mut weights = vec![0f64; (hi - lo + 1) as usize];
            for j in first..=end {
                let k = catmull_rom((j as f64 + 0.5 - center) / scale);
                if let Some(w) = weights.get_mut((j.clamp(lo, hi) - lo) as usize) {
                    *w += k;
                }
            }
            let sum: f64 = weights.iter().sum();
            let weights = if sum > 0.0 {
                weights.iter().map(|w| (w / sum) as f32).collect()
            } else {
                // Unreachable for Catmull-Rom (its taps sum to ~1); nearest pixel as a guard.
                let mut nearest = vec![0f32; weights.len()];
                let at = ((center.floor() as i64).clamp(lo, hi) - lo) as usize;
                if let Some(w) = nearest.get_mut(at) {
                    *w = 1.0;
                }
                nearest
            };
            (lo as usize, weights)
        })
        .collect()
}

/// One axis of the box pre-reduction: the source window `[start, start + len)` (pixels) is
/// reduced by an integer `factor` into `cells` cells, the first beginning at source pixel
/// `first`; `window_start`/`window_len` give the window in cell units, for the fine filter.
struct BoxAxis {
    factor: usize,
    cells: usize,
    first: usize,
    window_start: f64,
    window_len: f64,
}

fn box_axis(size: u32, start: f64, len: f64) -> BoxAxis {
    let factor = ((len / BOX_TARGET).floor() as usize).max(1);
    let cells = ((len as usize) / factor).max(1);
    let span = cells * factor;
    // Centre the cells in the window; they cover it but for < factor pixels at the edges.
    let first = (start + (len - span as f64) / 2.0).floor().max(0.0) as usize;
    let first = first.min((size as usize).saturating_sub(span));
    BoxAxis {
        factor,
        cells,
        first,
        window_start: (start - first as f64) / factor as f64,
        window_len: len / factor as f64,
    }
}

/// The part of the image that becomes the 64 x 64 square: `[x0, x0 + width) x [y0, y0 + height)`,
/// in pixels of the full-size stored image (before orientation).
struct Window {
    x0: f64,
    y0: f64,
    width: f64,
    height: f64,
}

impl Window {
    /// The same window in the pixels of the image decoded at `1 / scale` of its size (pixel `j`
    /// of the reduced image covers pixels `[j * scale, (j + 1) * scale)` of the full one).
    fn scaled(&self, scale: u32) -> Window {
        let s = f64::from(scale.max(1));
        Window {
            x0: self.x0 / s,
            y0: self.y0 / s,
            width: self.width / s,
            height: self.height / s,
        }
    }
}

fn frame_window(w: u32, h: u32, fit: Framing) -> Window {
    let (x0, y0, cw, ch) = match fit {
        Framing::Crop => {
            let s = w.min(h);
            (f64::from(w - s) / 2.0, f64::from(h - s) / 2.0, s, s)
        }
        Framing::Squash => (0.0, 0.0, w, h),
    };
    Window {
        x0,
        y0,
        width: f64::from(cw),
        height: f64::from(ch),
    }
}

/// Crops `window` out of `image` and resamples it to `SIDE x SIDE` RGB8, before orientation.
fn resample(image: &DynamicImage, window: &Window) -> Result<Vec<u8>> {
    let (w, h) = image.dimensions();
    let bx = box_axis(w, window.x0, window.width);
    let by = box_axis(h, window.y0, window.height);

    // 1. Integer box average into `cells` (at most 511 x 511 x 3 f32, ~3 MB).
    let mut cells = vec![0f32; bx.cells * by.cells * 3];
    let area = (bx.factor * by.factor) as f32;
    for (cy, cell_row) in cells.chunks_exact_mut(bx.cells * 3).enumerate() {
        for dy in 0..by.factor {
            let y = by.first + cy * by.factor + dy;
            accumulate_row(image, y, bx.first, bx.factor, cell_row)?;
        }
        for c in cell_row.iter_mut() {
            *c /= area;
        }
    }

    // 2. Catmull-Rom, horizontally then vertically, to SIDE x SIDE.
    let x_taps = axis_taps(bx.cells, bx.window_start, bx.window_len, SIDE);
    let y_taps = axis_taps(by.cells, by.window_start, by.window_len, SIDE);
    let mut across = vec![0f32; by.cells * SIDE * 3];
    for (src, dst) in cells
        .chunks_exact(bx.cells * 3)
        .zip(across.chunks_exact_mut(SIDE * 3))
    {
        for ((lo, weights), out) in x_taps.iter().zip(dst.chunks_exact_mut(3)) {
            let src = src.get(lo * 3..).unwrap_or(&[]);
            let mut acc = [0f32; 3];
            for (w, p) in weights.iter().zip(src.chunks_exact(3)) {
                for (a, v) in acc.iter_mut().zip(p) {
                    *a += w * v;
                }
            }
            out.copy_from_slice(&acc);
        }
    }
    let mut pixels = vec![0u8; PIXELS];
    let mut acc = vec![0f32; SIDE * 3];
    for ((lo, weights), out) in y_taps.iter().zip(pixels.chunks_exact_mut(SIDE * 3)) {
        acc.fill(0.0);
        let rows = across.get(lo * SIDE * 3..).unwrap_or(&[]);
        for (w, src) in weights.iter().zip(rows.chunks_exact(SIDE * 3)) {
            for (a, v) in acc.iter_mut().zip(src) {
                *a += w * v;
            }
        }
        for (o, a) in out.iter_mut().zip(&acc) {
            // Round half up; `as` saturates (and maps NaN to 0).
            *o = (a.clamp(0.0, 255.0) + 0.5) as u8;
        }
    }
    Ok(pixels)
}

/// Composites a colour (0..=255 scale) with opacity `alpha` (0..=1) over white.
#[inline]
fn over_white(c: f32, alpha: f32) -> f32 {
    c * alpha + 255.0 * (1.0 - alpha)
}

/// Adds, to each RGB cell of `acc`, the sum of `factor` consecutive pixels of `src` (pixels of
/// `N` samples, converted to RGB in 0..=255 by `rgb`).
#[inline]
fn sum_cells<T: Copy, const N: usize>(
    src: &[T],
    factor: usize,
    acc: &mut [f32],
    rgb: impl Fn([T; N]) -> [f32; 3],
) {
    for (cell, pixels) in acc.chunks_exact_mut(3).zip(src.chunks_exact(N * factor)) {
        let mut sum = [0f32; 3];
        for p in pixels.chunks_exact(N) {
            if let Ok(p) = <[T; N]>::try_from(p) {
                for (s, v) in sum.iter_mut().zip(rgb(p)) {
                    *s += v;
                }
            }
        }
        for (c, s) in cell.iter_mut().zip(sum) {
            *c += s;
        }
    }
}

/// Integer version of [`sum_cells`] for opaque 8-bit pixels: sums of at most 64 samples of
/// 0..=255 are exact in `u32` and in `f32`.
#[inline]
fn sum_cells_u8<const N: usize>(src: &[u8], factor: usize, acc: &mut [f32]) {
    for (cell, pixels) in acc.chunks_exact_mut(3).zip(src.chunks_exact(N * factor)) {
        let mut sum = [0u32; N];
        for p in pixels.chunks_exact(N) {
            for (s, v) in sum.iter_mut().zip(p) {
                *s += u32::from(*v);
            }
        }
        // N = 1: grey -> R = G = B; N = 3: RGB.
        for (k, c) in cell.iter_mut().enumerate() {
            *c += sum.get(k).or(sum.first()).map_or(0.0, |&s| s as f32);
        }
    }
}

/// Adds row `y` of `image`, from column `x0`, into the cells of `acc` (RGB `f32` in 0..=255,
/// alpha composited over white): cell `i` gets the sum of pixels `x0 + i * factor ..
/// x0 + (i + 1) * factor`.
fn accumulate_row(
    image: &DynamicImage,
    y: usize,
    x0: usize,
    factor: usize,
    acc: &mut [f32],
) -> Result<()> {
    let n = acc.len() / 3 * factor;
    let start = y * image.width() as usize + x0;
    let short = || Error::ImageDecode("internal error: pixel buffer shorter than the image".into());
    fn span<T>(raw: &[T], start: usize, n: usize, channels: usize) -> Option<&[T]> {
        raw.get(start * channels..(start + n) * channels)
    }
    const U16: f32 = 255.0 / 65535.0;
    match image {
        DynamicImage::ImageLuma8(b) => {
            sum_cells_u8::<1>(span(b, start, n, 1).ok_or_else(short)?, factor, acc);
        }
        DynamicImage::ImageRgb8(b) => {
            sum_cells_u8::<3>(span(b, start, n, 3).ok_or_else(short)?, factor, acc);
        }
        DynamicImage::ImageLumaA8(b) => {
            let src = span(b, start, n, 2).ok_or_else(short)?;
            sum_cells(src, factor, acc, |[l, a]: [u8; 2]| {
                [over_white(f32::from(l), f32::from(a) / 255.0); 3]
            });
        }
        DynamicImage::ImageRgba8(b) => {
            let src = span(b, start, n, 4).ok_or_else(short)?;
            sum_cells(src, factor, acc, |[r, g, b, a]: [u8; 4]| {
                let a = f32::from(a) / 255.0;
                [r, g, b].map(|c| over_white(f32::from(c), a))
            });
        }
        DynamicImage::ImageLuma16(b) => {
            let src = span(b, start, n, 1).ok_or_else(short)?;
            sum_cells(src, factor, acc, |[l]: [u16; 1]| [f32::from(l) * U16; 3]);
        }
        DynamicImage::ImageLumaA16(b) => {
            let src = span(b, start, n, 2).ok_or_else(short)?;
            sum_cells(src, factor, acc, |[l, a]: [u16; 2]| {
                [over_white(f32::from(l) * U16, f32::from(a) / 65535.0); 3]
            });
        }
        DynamicImage::ImageRgb16(b) => {
            let src = span(b, start, n, 3).ok_or_else(short)?;
            sum_cells(src, factor, acc, |p: [u16; 3]| {
                p.map(|c| f32::from(c) * U16)
            });
        }
        DynamicImage::ImageRgba16(b) => {
            let src = span(b, start, n, 4).ok_or_else(short)?;
            sum_cells(src, factor, acc, |[r, g, b, a]: [u16; 4]| {
                let a = f32::from(a) / 65535.0;
                [r, g, b].map(|c| over_white(f32::from(c) * U16, a))
            });
        }
        DynamicImage::ImageRgb32F(b) => {
            let src = span(b, start, n, 3).ok_or_else(short)?;
            sum_cells(src, factor, acc, |p: [f32; 3]| p.map(|c| unit(c) * 255.0));
        }
        DynamicImage::ImageRgba32F(b) => {
            let src = span(b, start, n, 4).ok_or_else(short)?;
            sum_cells(src, factor, acc, |[r, g, b, a]: [f32; 4]| {
                let a = unit(a);
                [r, g, b].map(|c| over_white(unit(c) * 255.0, a))
            });
        }
        // Colour types added to `image` later: go through its RGBA8 pixel accessor.
        other => {
            let (w, h) = (other.width() as usize, other.height() as usize);
            if x0 + n > w || y >= h {
                return Err(short());
            }
            let mut row = Vec::with_capacity(n * 4);
            for x in x0..x0 + n {
                row.extend_from_slice(&other.get_pixel(x as u32, y as u32).0);
            }
            sum_cells(&row, factor, acc, |[r, g, b, a]: [u8; 4]| {
                let a = f32::from(a) / 255.0;
                [r, g, b].map(|c| over_white(f32::from(c), a))
            });
        }
    }
    Ok(())
}

/// Clamps a float sample to 0..=1 (NaN -> 0).
fn unit(v: f32) -> f32 {
    if v >= 0.0 {
        v.min(1.0)
    } else {
        0.0
    }
}

// ---- orientation ---------------------------------------------------------------------------

fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Applies the EXIF orientation to the 64 x 64 result (a square stays 64 x 64).
fn orient(pixels: Vec<u8>, orientation: Orientation) -> Result<Vec<u8>> {
    if orientation == Orientation::NoTransforms {
        return Ok(pixels);
    }
    let square = RgbImage::from_raw(SIDE as u32, SIDE as u32, pixels)
        .ok_or_else(|| Error::ImageDecode("internal error: bad 64 x 64 buffer".into()))?;
    let mut image = DynamicImage::ImageRgb8(square);
    image.apply_orientation(orientation);
    Ok(image.into_rgb8().into_raw())
}
