//! The exact integer Gram matrix of byte vectors (the network trainer's first-layer product on
//! raw pixels).

/// Columns of the pixel matrix widened at a time by [`gram_u8`]: `m x GRAM_CHUNK` `u16`
/// (836 KB for the 209 catvnoncat images) stays in a core's L2 cache while it is read ~70 times.
const GRAM_CHUNK: usize = 4096;

/// The Gram matrix `K[i][j] = Σ_k p_i[k] p_j[k]` of `m` byte vectors of length `n` stored one
/// after the other, as `m x m` row-major `u32` (exact, symmetric) for `n ≤ 66051`.
///
/// The bytes are widened to `u16`, [`GRAM_CHUNK`] columns at a time, and the products taken in
/// 3 x 3 blocks of rows (each loaded vector used three times). Widening once beforehand instead
/// of in the inner loop (`u16x8.extend_{low,high}_u8x16`) cut the catvnoncat Gram matrix from
/// 24 to 10 ms in Chromium 156, whose code for the in-loop widening is slow (in Node 20 it went
/// from 10 to 14 ms; the browser is what counts).
pub fn gram_u8(pixels: &[u8], n: usize) -> Vec<u32> {
    let m = pixels.len().checked_div(n).unwrap_or(0);
    let mut k = vec![0u32; m * m];
    // (r, c) is computed when r's block is at or before c's, or when r is one of the last
    // m % 3 rows and c <= r; the rest are mirrored at the end.
    let full = m - m % 3;
    let computed = |r: usize, c: usize| {
        if r < full && c < full {
            r / 3 <= c / 3
        } else {
            r >= full && c <= r
        }
    };
    let chunk = GRAM_CHUNK.min(n);
    let mut wide = vec![0u16; m * chunk];
    let mut k0 = 0;
    while k0 < n {
        let len = chunk.min(n - k0);
        for (r, dst) in wide.chunks_exact_mut(len).take(m).enumerate() {
            let src = &pixels[r * n + k0..r * n + k0 + len];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = u16::from(s);
            }
        }
        let row = |i: usize| &wide[i * len..(i + 1) * len];
        for i in (0..full).step_by(3) {
            for j in (i..full).step_by(3) {
                let v = dot_u16_3x3(
                    [row(i), row(i + 1), row(i + 2)],
                    [row(j), row(j + 1), row(j + 2)],
                );
                for (a, va) in v.iter().enumerate() {
                    for (b, vab) in va.iter().enumerate() {
                        k[(i + a) * m + j + b] += vab;
                    }
                }
            }
        }
        for i in full..m {
            for j in 0..=i {
                k[i * m + j] += dot_u16(row(i), row(j));
            }
        }
        k0 += len;
    }
    for r in 0..m {
        for c in 0..m {
            if !computed(r, c) {
                k[r * m + c] = k[c * m + r];
            }
        }
    }
    k
}

/// `Σ a[i] b[i]` of two vectors of bytes widened to `u16` (values ≤ 255), exact for up to
/// 66051 elements.
pub fn dot_u16(a: &[u16], b: &[u16]) -> u32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| u32::from(x) * u32::from(y))
        .sum()
}

/// The nine products `[[a_r · b_c]]` of vectors as in [`dot_u16`], each vector read once.
pub fn dot_u16_3x3(a: [&[u16]; 3], b: [&[u16]; 3]) -> [[u32; 3]; 3] {
    dot_u16_3x3_impl(a, b)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn dot_u16_3x3_impl(a: [&[u16]; 3], b: [&[u16]; 3]) -> [[u32; 3]; 3] {
    // Nine plain dot products: the compiler vectorises each natively.
    a.map(|x| b.map(|y| dot_u16(x, y)))
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot_u16_3x3_impl(a: [&[u16]; 3], b: [&[u16]; 3]) -> [[u32; 3]; 3] {
    use core::arch::wasm32::*;
    let n = a.iter().chain(&b).map(|v| v.len()).min().unwrap_or(0);
    let body = n - n % 8;
    let mut acc = [[i32x4_splat(0); 3]; 3];
    let mut i = 0;
    while i < body {
        // SAFETY: i + 8 <= body <= the length of every slice; v128_load allows unaligned reads.
        let load = |v: &[u16]| unsafe { v128_load(v.as_ptr().add(i) as *const v128) };
        let (x, y) = (a.map(load), b.map(load));
        // Values ≤ 255 are non-negative as i16, and each i32 lane sums products ≤ 255².
        for (acc_r, &xr) in acc.iter_mut().zip(&x) {
            for (acc_rc, &yc) in acc_r.iter_mut().zip(&y) {
                *acc_rc = i32x4_add(*acc_rc, i32x4_dot_i16x8(xr, yc));
            }
        }
        i += 8;
    }
    let lanes = |v: v128| {
        (i32x4_extract_lane::<0>(v) as u32)
            .wrapping_add(i32x4_extract_lane::<1>(v) as u32)
            .wrapping_add(i32x4_extract_lane::<2>(v) as u32)
            .wrapping_add(i32x4_extract_lane::<3>(v) as u32)
    };
    let mut out = acc.map(|r| r.map(lanes));
    for (r, out_r) in out.iter_mut().enumerate() {
        for (c, out_rc) in out_r.iter_mut().enumerate() {
            *out_rc += dot_u16(&a[r][body..n], &b[c][body..n]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_u8_is_every_pairwise_dot() {
        for (m, n) in [
            (0, 5),
            (1, 5),
            (2, 17),
            (5, 33),
            (6, 16),
            (7, 100),
            (8, 4097),
            (4, 8205),
        ] {
            let pixels: Vec<u8> = (0..m * n).map(|i| (i * 37 % 256) as u8).collect();
            let k = gram_u8(&pixels, n);
            for i in 0..m {
                for j in 0..m {
                    let (a, b) = (&pixels[i * n..(i + 1) * n], &pixels[j * n..(j + 1) * n]);
                    let plain: u32 = a
                        .iter()
                        .zip(b)
                        .map(|(&x, &y)| u32::from(x) * u32::from(y))
                        .sum();
                    assert_eq!(k[i * m + j], plain, "m {m} n {n} ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn byte_dot_and_gram_are_exact() {
        // The largest sums: all 255, with more columns than one widened chunk and a tail that
        // is not a whole SIMD vector.
        let n = 12288 + 5;
        let a = vec![255u16; n];
        assert_eq!(dot_u16(&a, &a), 255 * 255 * n as u32);
        let k = gram_u8(&vec![255u8; 4 * n], n);
        assert!(k.iter().all(|&v| v == 255 * 255 * n as u32));
        let pixels: Vec<u8> = (0..3 * 37).map(|i| (i * 7 % 256) as u8).collect();
        let k = gram_u8(&pixels, 37);
        for i in 0..3 {
            for j in 0..3 {
                let want: u32 = (0..37)
                    .map(|t| u32::from(pixels[i * 37 + t]) * u32::from(pixels[j * 37 + t]))
                    .sum();
                assert_eq!(k[i * 3 + j], want);
            }
        }
    }

    #[test]
    fn dot_3x3_is_nine_dots() {
        for n in [0, 7, 8, 9, 100, 4096] {
            let v =
                |s: usize| -> Vec<u16> { (0..n).map(|i| ((i * s + 11) % 256) as u16).collect() };
            let (a, b) = ([v(3), v(5), v(7)], [v(11), v(13), v(17)]);
            let got = dot_u16_3x3([&a[0], &a[1], &a[2]], [&b[0], &b[1], &b[2]]);
            for r in 0..3 {
                for c in 0..3 {
                    assert_eq!(got[r][c], dot_u16(&a[r], &b[c]), "n {n} ({r}, {c})");
                }
            }
        }
    }
}
