//! Resampling: the part of the image kept by the [`Framing`] becomes `side x side` RGB (64 for
//! the models of this crate, [`SIDE`](super::SIDE); any side in 16..=512). An integer box
//! average first brings it to between [`box_target`] and twice that a side (256..=511 for side
//! 64; a no-op for smaller images), then a Catmull-Rom filter widened to the scale factor gives
//! `side x side`. Weights come from polynomials only, summed in a fixed order: the same result on
//! every target.

use image::{DynamicImage, GenericImageView};

use super::Framing;
use crate::error::{Error, Result};

/// Width, in pixels, that the integer box pre-reduction aims at before the fine filter, for an
/// output of `side` pixels a side: `4 * side` (256 for side 64), at most 1024. The box factor
/// is `floor(window side / box_target)`, leaving `box_target..2 * box_target` pixels a side.
///
/// Four times the side leaves the Catmull-Rom filter a reduction of 4..8 to smooth over. The cap
/// bounds the box buffer (`(2 * 1024)^2` RGB `f32`, 50 MB) for sides over 256, where the filter
/// is left a reduction of 2..4 (512) or more, still enough: it is widened to the scale factor.
pub(super) fn box_target(side: usize) -> f64 {
    (4 * side).min(1024) as f64
}

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

fn box_axis(size: u32, start: f64, len: f64, target: f64) -> BoxAxis {
    let factor = ((len / target).floor() as usize).max(1);
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

/// The part of the image that becomes the output square: `[x0, x0 + width) x [y0, y0 + height)`,
/// in pixels of the full-size stored image (before orientation).
pub(super) struct Window {
    x0: f64,
    y0: f64,
    pub(super) width: f64,
    pub(super) height: f64,
}

impl Window {
    /// The same window in the pixels of the image decoded at `1 / scale` of its size (pixel `j`
    /// of the reduced image covers pixels `[j * scale, (j + 1) * scale)` of the full one).
    pub(super) fn scaled(&self, scale: u32) -> Window {
        let s = f64::from(scale.max(1));
        Window {
            x0: self.x0 / s,
            y0: self.y0 / s,
            width: self.width / s,
            height: self.height / s,
        }
    }
}

pub(super) fn frame_window(w: u32, h: u32, fit: Framing) -> Window {
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

/// Crops `window` out of `image` and resamples it to `side x side` RGB8 (`side * side * 3`
/// bytes, row-major), before orientation. `side` is checked by the caller (16..=512).
pub(super) fn resample(image: &DynamicImage, window: &Window, side: usize) -> Result<Vec<u8>> {
    let (w, h) = image.dimensions();
    let target = box_target(side);
    let bx = box_axis(w, window.x0, window.width, target);
    let by = box_axis(h, window.y0, window.height, target);

    // 1. Integer box average into `cells` (at most 511 x 511 x 3 f32, ~3 MB, for side 64;
    //    ~12 MB for side 128, ~50 MB from side 256).
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

    // 2. Catmull-Rom, horizontally then vertically, to side x side.
    let x_taps = axis_taps(bx.cells, bx.window_start, bx.window_len, side);
    let y_taps = axis_taps(by.cells, by.window_start, by.window_len, side);
    let mut across = vec![0f32; by.cells * side * 3];
    for (src, dst) in cells
        .chunks_exact(bx.cells * 3)
        .zip(across.chunks_exact_mut(side * 3))
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
    let mut pixels = vec![0u8; side * side * 3];
    let mut acc = vec![0f32; side * 3];
    for ((lo, weights), out) in y_taps.iter().zip(pixels.chunks_exact_mut(side * 3)) {
        acc.fill(0.0);
        let rows = across.get(lo * side * 3..).unwrap_or(&[]);
        for (w, src) in weights.iter().zip(rows.chunks_exact(side * 3)) {
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
