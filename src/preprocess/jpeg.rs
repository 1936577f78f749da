//! JPEGs: the frame header, read by hand for memory accounting, and the decoding path of
//! their own with `jpeg-decoder`, which can decode large images at reduced scale.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, RgbImage};

use super::limits::{decode_cost, Limits};
use super::resample::{box_target, frame_window, Window};
use super::sniff::be_u16;
use super::{check_not_empty, finish, Framing, Photo};
use crate::error::{Error, Result};

/// The frame header (SOFn) of a JPEG.
pub(super) struct JpegHeader {
    pub(super) width: u16,
    pub(super) height: u16,
    pub(super) progressive: bool,
    /// Horizontal and vertical sampling factors of each component.
    sampling: Vec<(u8, u8)>,
}

impl JpegHeader {
    /// Bytes of the DCT coefficients a progressive decode keeps for the whole image: one `i16`
    /// per sample of each component, padded to whole MCUs.
    pub(super) fn coefficient_bytes(&self) -> u64 {
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
pub(super) fn jpeg_header(b: &[u8]) -> Option<JpegHeader> {
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

/// The JPEG reduction (1, 2, 4 or 8) to decode with, for an output of `side` pixels a side: the
/// largest that leaves the window at least [`box_target`]`(side)` pixels on each side (256 for
/// side 64, 512 for 128), the size the box stage of [`resample`](super::resample::resample)
/// aims at, so that the scaled IDCT only replaces part of that box averaging.
fn jpeg_scale(window: &Window, side: usize) -> u32 {
    let target = box_target(side);
    let shorter = window.width.min(window.height);
    [8, 4, 2]
        .into_iter()
        .find(|&s| shorter / f64::from(s) >= target)
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
pub(super) fn preprocess_jpeg(
    bytes: &[u8],
    fit: Framing,
    side: usize,
    limits: &Limits,
) -> Result<Photo> {
    use jpeg_decoder::{CodingProcess, Decoder, PixelFormat};

    let mut decoder = Decoder::new(Cursor::new(bytes));
    decoder.read_info().map_err(|e| jpeg_error(e, limits))?;
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
    let budget = limits.check_size(width, height, &cost)?;
    decoder.set_max_decoding_buffer_size(usize::try_from(budget).unwrap_or(usize::MAX));
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let window = frame_window(width, height, fit);

    let mut scale = match info.coding_process {
        CodingProcess::Lossless => 1,
        _ => jpeg_scale(&window, side),
    };
    if scale > 1 {
        let (w, h) = (
            info.width.div_ceil(scale as u16),
            info.height.div_ceil(scale as u16),
        );
        if decoder.scale(w, h).map_err(|e| jpeg_error(e, limits))? != (w, h) {
            // Not the reduction asked for: decode at full size rather than guess the geometry.
            decoder
                .scale(info.width, info.height)
                .map_err(|e| jpeg_error(e, limits))?;
            scale = 1;
        }
    }
    let data = decoder.decode().map_err(|e| jpeg_error(e, limits))?;
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
    finish(
        image,
        &window,
        scale,
        side,
        orientation,
        (width, height),
        "jpeg",
    )
}

fn jpeg_error(error: jpeg_decoder::Error, limits: &Limits) -> Error {
    use jpeg_decoder::Error as E;
    match error {
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::ImageDecode("the JPEG file is truncated".into())
        }
        E::Io(io) => Error::ImageDecode(format!("JPEG: {io}")),
        E::Format(what) if what.contains("exceeds maximum allowed size") => {
            Error::ImageDecode(format!(
                "decoding this JPEG image needs more than the {} MiB memory limit",
                limits.max_decode_bytes >> 20
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

#[cfg(test)]
mod tests {
    use super::super::resample::frame_window;
    use super::super::Framing;
    use super::jpeg_scale;

    #[test]
    fn the_reduction_follows_the_requested_side() {
        // The largest of 8, 4, 2 that leaves the shorter window side >= 4 * side (<= 1024):
        // 3000 / 8 = 375 >= 256; 3000 / 4 = 750 >= 512 but 375 < 512; 3000 / 2 = 1500 >= 896
        // (224) and >= 1024 (512) but 750 < 896.
        let crop = frame_window(4000, 3000, Framing::Crop);
        let squash = frame_window(4000, 3000, Framing::Squash);
        for (side, scale) in [(16, 8), (64, 8), (128, 4), (224, 2), (512, 2)] {
            assert_eq!(jpeg_scale(&crop, side), scale, "side {side}");
            assert_eq!(jpeg_scale(&squash, side), scale, "side {side}");
        }
        // 1000 x 1000: 1/2 leaves 500, enough for 64 (1/2 only: 250 < 256 at 1/4), not for 128.
        let small = frame_window(1000, 1000, Framing::Crop);
        assert_eq!(jpeg_scale(&small, 64), 2);
        assert_eq!(jpeg_scale(&small, 128), 1);
    }
}
