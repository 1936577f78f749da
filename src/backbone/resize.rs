//! The network's input: a square RGB `u8` image resized to `n x n` with bilinear
//! interpolation at half-pixel centres (edges clamped), as `(v - 127) / 128` in `f32`.
//! Computed in `f32` in one written order (no fused multiply-add), as
//! tests/reference/backbone_reference.py does.

/// One output coordinate's source taps: `(i0, i1, t)` reads `(1 - t) p[i0] + t p[i1]`.
fn taps(side: usize, n: usize) -> Vec<(usize, usize, f32)> {
    let ratio = side as f32 / n as f32;
    (0..n)
        .map(|o| {
            let src = ((o as f32 + 0.5) * ratio - 0.5).max(0.0);
            // `src` is at most side - 0.5, so the cast cannot overflow.
            let i0 = (src.floor() as usize).min(side - 1);
            let i1 = (i0 + 1).min(side - 1);
            (i0, i1, src - i0 as f32)
        })
        .collect()
}

/// Writes the `n x n x 3` input for `rgb` (`side x side x 3`, row-major RGB) into `out`
/// (resized to `n * n * 3`). `side` and `n` must be at least 1 and `rgb` hold
/// `side * side * 3` bytes (the caller checked).
pub fn to_input(rgb: &[u8], side: usize, n: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(n * n * 3, 0.0);
    if side == 0 || rgb.len() < side * side * 3 {
        return;
    }
    let norm = |v: f32| (v - 127.0) / 128.0;
    if side == n {
        for (o, &v) in out.iter_mut().zip(rgb) {
            *o = norm(f32::from(v));
        }
        return;
    }
    let t = taps(side, n);
    let px = |y: usize, x: usize, c: usize| f32::from(rgb[(y * side + x) * 3 + c]);
    for (oy, &(y0, y1, ty)) in t.iter().enumerate() {
        for (ox, &(x0, x1, tx)) in t.iter().enumerate() {
            for c in 0..3 {
                let top = px(y0, x0, c) * (1.0 - tx) + px(y0, x1, c) * tx;
                let bot = px(y1, x0, c) * (1.0 - tx) + px(y1, x1, c) * tx;
                out[(oy * n + ox) * 3 + c] = norm(top * (1.0 - ty) + bot * ty);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_interpolates_at_half_pixel_centres() {
        // Hand-worked: 2 -> 4 pixels, ratio 0.5; output centres map to sources -0.25 (clamped
        // to 0), 0.25, 0.75, 1.25 (taps 1 and 1, the edge), i.e. weights 0, 0.25, 0.75, 0.
        let rgb: Vec<u8> = [0u8, 100, 200, 40]
            .iter()
            .flat_map(|&v| [v, v, v])
            .collect();
        let mut out = Vec::new();
        to_input(&rgb, 2, 4, &mut out);
        let row0: Vec<f32> = (0..4).map(|x| out[x * 3] * 128.0 + 127.0).collect();
        assert_eq!(row0, [0.0, 25.0, 75.0, 100.0]);
        let col0: Vec<f32> = (0..4).map(|y| out[y * 12] * 128.0 + 127.0).collect();
        assert_eq!(col0, [0.0, 50.0, 150.0, 200.0]);
    }

    #[test]
    fn the_same_size_only_normalises() {
        let rgb = [0u8, 127, 255];
        let mut out = Vec::new();
        to_input(&rgb, 1, 1, &mut out);
        assert_eq!(out, [-127.0 / 128.0, 0.0, 1.0]);
    }
}
