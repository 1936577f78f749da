//! How large a photo may be: the [`Limits`] a photo is checked against from its header, before
//! any pixel is decoded, and what decoding each format costs in buffers.

use image::ImageFormat;

use super::jpeg::jpeg_header;
use crate::error::{Error, Result};

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

/// The size limits a photo is checked against, passed to [`preprocess_with`](super::preprocess_with).
/// Any values are safe: a limit of 0 refuses every image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width or height, in pixels, as stored in the file (before EXIF
    /// orientation). Default [`MAX_SIDE`].
    pub max_side: u32,
    /// Largest accepted number of pixels (width x height). Default [`MAX_PIXELS`].
    pub max_pixels: u64,
    /// Memory budget for the decoder's buffers, in bytes; see [`MAX_DECODE_BYTES`] for what
    /// counts. Default [`MAX_DECODE_BYTES`].
    pub max_decode_bytes: u64,
}

impl Default for Limits {
    /// [`MAX_SIDE`], [`MAX_PIXELS`] and [`MAX_DECODE_BYTES`].
    fn default() -> Self {
        Limits {
            max_side: MAX_SIDE,
            max_pixels: MAX_PIXELS,
            max_decode_bytes: MAX_DECODE_BYTES,
        }
    }
}

impl Limits {
    /// The largest number of pixels accepted for an image whose decoding costs
    /// `bytes_per_pixel` bytes of buffers per pixel: `min(max_pixels, max_decode_bytes /
    /// bytes_per_pixel)`; see [`max_pixels_for`] for the values with the default limits.
    pub fn max_pixels_for(&self, bytes_per_pixel: u64) -> u64 {
        self.max_pixels
            .min(self.max_decode_bytes / bytes_per_pixel.max(1))
    }

    /// Refuses images over the limits; returns the bytes of buffers the decoding will use.
    pub(super) fn check_size(&self, width: u32, height: u32, cost: &Cost) -> Result<u64> {
        let pixels = u64::from(width) * u64::from(height);
        let needed = pixels
            .saturating_mul(cost.per_pixel)
            .saturating_add(cost.coefficients.unwrap_or(0));
        // Bytes per pixel, rounded up, including the coefficients.
        let per_pixel = needed.div_ceil(pixels.max(1));
        let max_pixels = self.max_pixels_for(per_pixel);
        if width > self.max_side
            || height > self.max_side
            || pixels > max_pixels
            || needed > self.max_decode_bytes
        {
            return Err(Error::ImageTooLarge {
                width: width.into(),
                height: height.into(),
                max_side: self.max_side,
                max_pixels,
            });
        }
        Ok(needed)
    }

    /// [`Error::ImageTooLarge`] if dimensions read from a header are over the side or pixel
    /// limit (`None` if they are within).
    pub(super) fn header_too_large(&self, width: u64, height: u64) -> Option<Error> {
        let over = width > u64::from(self.max_side)
            || height > u64::from(self.max_side)
            || width.saturating_mul(height) > self.max_pixels;
        over.then_some(Error::ImageTooLarge {
            width,
            height,
            max_side: self.max_side,
            max_pixels: self.max_pixels,
        })
    }

    /// The limits handed to an image-rs decoder, with `max_alloc` bytes for its buffers.
    pub(super) fn decoder_limits(&self, max_alloc: u64) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_side);
        limits.max_image_height = Some(self.max_side);
        limits.max_alloc = Some(max_alloc);
        limits
    }
}

/// The largest number of pixels accepted, with the default [`Limits`], for an image whose
/// decoding costs `bytes_per_pixel` bytes of buffers per pixel:
/// `min(MAX_PIXELS, MAX_DECODE_BYTES / bytes_per_pixel)`.
///
/// E.g. baseline JPEG, RGB8 PNG, BMP: 3 bytes -> 67 108 864 (8192 x 8192, [`MAX_PIXELS`]);
/// RGBA8 PNG: 4 -> 67 108 864; GIF: 5 -> 53 687 091; RGB16 PNG, progressive 4:2:0
/// JPEG: 6 -> 44 739 242; WebP: 7 -> 38 347 922; RGBA16 PNG: 8 -> 33 554 432; progressive
/// 4:4:4 JPEG: 9 -> 29 826 161. See [`MAX_DECODE_BYTES`] for what counts.
pub fn max_pixels_for(bytes_per_pixel: u64) -> u64 {
    Limits::default().max_pixels_for(bytes_per_pixel)
}

/// What decoding an image costs, in bytes of buffers: `per_pixel` bytes for each pixel plus,
/// for a progressive JPEG, its coefficients (which depend on the chroma subsampling).
pub(super) struct Cost {
    per_pixel: u64,
    /// Progressive JPEG: the exact coefficient bytes, computed from the frame header.
    coefficients: Option<u64>,
}

pub(super) fn decode_cost(bytes: &[u8], format: ImageFormat, bytes_per_pixel: u8) -> Cost {
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
