//! The EXIF orientation, applied to the square result: centre crop, resampling and rotation
//! commute, so this gives the same picture as rotating first, without a full-size rotated copy.

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

use crate::error::{Error, Result};

pub(super) fn swaps_axes(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Applies the EXIF orientation to the `side x side` RGB result (a square stays a square).
pub(super) fn orient(pixels: Vec<u8>, orientation: Orientation, side: usize) -> Result<Vec<u8>> {
    if orientation == Orientation::NoTransforms {
        return Ok(pixels);
    }
    let square = RgbImage::from_raw(side as u32, side as u32, pixels)
        .ok_or_else(|| Error::ImageDecode(format!("internal error: bad {side} x {side} buffer")))?;
    let mut image = DynamicImage::ImageRgb8(square);
    image.apply_orientation(orientation);
    Ok(image.into_rgb8().into_raw())
}
