//! The few dense kernels the fast trainer spends its time in, written so that the WebAssembly
//! SIMD build and the portable build give bit-identical results.
//!
//! [`dot`] keeps 4 partial sums, lane `k` taking the elements `i ≡ k (mod 4)`, and adds them as
//! `(s0 + s1) + (s2 + s3)` at the end. The simd128 version holds the same 4 lanes in two `f64x2`
//! registers; neither uses fused multiply-add. [`dot_2x2`] computes four such dot products at
//! once (sharing the loads), each rounded exactly like [`dot`]. So a model trained in the
//! browser and one trained natively round the same way. [`gram_u8`] is exact integer
//! arithmetic on both.

/// `byte / 255` for every byte value: the model's input scaling, as a table (exactly the
/// quotients, so results are unchanged) because a division per pixel is slow in WebAssembly.
pub static UNIT: [f64; 256] = {
    let mut t = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as f64 / 255.0;
        i += 1;
    }
    t
};

/// Writes `UNIT[bytes[i]]` into `out[i]` over the common length.
pub fn unit_scale(bytes: &[u8], out: &mut [f64]) {
    for (o, &b) in out.iter_mut().zip(bytes) {
        *o = UNIT[usize::from(b)];
    }
}

/// `Σ a[i] b[i]` over the common length, in a fixed summation order (see the module docs).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let r = dot_2x2(a, a, b, b);
    r[0]
}

/// The four dot products `[a0·b0, a0·b1, a1·b0, a1·b1]` over the common length of all four
/// slices, each bit-identical to [`dot`] of the same pair.
pub fn dot_2x2(a0: &[f64], a1: &[f64], b0: &[f64], b1: &[f64]) -> [f64; 4] {
    let n = a0.len().min(a1.len()).min(b0.len()).min(b1.len());
    let body = n - n % 4;
    let mut s = lanes_2x2(&a0[..body], &a1[..body], &b0[..body], &b1[..body]);
    for i in body..n {
        let k = i % 4;
        s[0][k] += a0[i] * b0[i];
        s[1][k] += a0[i] * b1[i];
        s[2][k] += a1[i] * b0[i];
        s[3][k] += a1[i] * b1[i];
    }
    s.map(|l| (l[0] + l[1]) + (l[2] + l[3]))
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn lanes_2x2(a0: &[f64], a1: &[f64], b0: &[f64], b1: &[f64]) -> [[f64; 4]; 4] {
    // Four separate accumulators (not an array of arrays) keep LLVM's vectoriser on the fast path.
    let (mut s00, mut s01, mut s10, mut s11) = ([0.0; 4], [0.0; 4], [0.0; 4], [0.0; 4]);
    let n = a0.len() - a0.len() % 4;
    let (a0, a1, b0, b1) = (&a0[..n], &a1[..n], &b0[..n], &b1[..n]);
    let mut i = 0;
    while i < n {
        for k in 0..4 {
            let (x0, x1, y0, y1) = (a0[i + k], a1[i + k], b0[i + k], b1[i + k]);
            s00[k] += x0 * y0;
            s01[k] += x0 * y1;
            s10[k] += x1 * y0;
            s11[k] += x1 * y1;
        }
        i += 4;
    }
    [s00, s01, s10, s11]
}

// `h` indexes the same half of all four accumulators: an iterator would hide that.
#[allow(clippy::needless_range_loop)]
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn lanes_2x2(a0: &[f64], a1: &[f64], b0: &[f64], b1: &[f64]) -> [[f64; 4]; 4] {
    use core::arch::wasm32::*;
    let z = f64x2_splat(0.0);
    // acc[p][h]: product p (00, 01, 10, 11), half h (lanes 0-1 or 2-3).
    let mut acc = [[z; 2]; 4];
    let n = a0.len() - a0.len() % 4;
    let mut i = 0;
    while i < n {
        for h in 0..2 {
            let o = i + 2 * h;
            // SAFETY: o + 2 <= n <= the length of every slice; v128_load allows unaligned reads.
            let (x0, x1, y0, y1) = unsafe {
                (
                    v128_load(a0.as_ptr().add(o) as *const v128),
                    v128_load(a1.as_ptr().add(o) as *const v128),
                    v128_load(b0.as_ptr().add(o) as *const v128),
                    v128_load(b1.as_ptr().add(o) as *const v128),
                )
            };
            acc[0][h] = f64x2_add(acc[0][h], f64x2_mul(x0, y0));
            acc[1][h] = f64x2_add(acc[1][h], f64x2_mul(x0, y1));
            acc[2][h] = f64x2_add(acc[2][h], f64x2_mul(x1, y0));
            acc[3][h] = f64x2_add(acc[3][h], f64x2_mul(x1, y1));
        }
        i += 4;
    }
    acc.map(|[lo, hi]| {
        [
            f64x2_extract_lane::<0>(lo),
            f64x2_extract_lane::<1>(lo),
            f64x2_extract_lane::<0>(hi),
            f64x2_extract_lane::<1>(hi),
        ]
    })
}

/// `A B` for row-major `a` `(r, m)` and `b` `(m, n)`, as a row-major `(r, n)` vector.
///
/// Every entry is summed in the same order, `((0 + a_i0 b_0j) + a_i1 b_1j) + ...`, whatever the
/// platform: the SIMD parallelism runs across independent entries (4 x 4 register tiles that
/// the compiler vectorises, natively and with simd128 alike), never inside one sum.
pub fn matmul(a: &[f64], b: &[f64], r: usize, m: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; r * n];
    if a.len() < r * m || b.len() < m * n {
        return out;
    }
    let full_cols = n - n % 4;
    let mut i0 = 0;
    while i0 < r {
        // Tiles of 4 rows while there are 4 left, then single rows.
        let rows = if i0 + 4 <= r { 4 } else { 1 };
        for j0 in (0..full_cols).step_by(4) {
            let acc = if rows == 4 {
                tile::<4>(a, b, i0, j0, m, n)
            } else {
                let t = tile::<1>(a, b, i0, j0, m, n);
                [t[0], [0.0; 4], [0.0; 4], [0.0; 4]]
            };
            for (ii, acc_i) in acc.iter().take(rows).enumerate() {
                out[(i0 + ii) * n + j0..(i0 + ii) * n + j0 + 4].copy_from_slice(acc_i);
            }
        }
        for i in i0..i0 + rows {
            for j in full_cols..n {
                let mut s = 0.0;
                for k in 0..m {
                    s += a[i * m + k] * b[k * n + j];
                }
                out[i * n + j] = s;
            }
        }
        i0 += rows;
    }
    out
}

/// Rows `i0..i0+R`, columns `j0..j0+4` of `A B`; the caller guarantees they exist.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn tile<const R: usize>(
    a: &[f64],
    b: &[f64],
    i0: usize,
    j0: usize,
    m: usize,
    n: usize,
) -> [[f64; 4]; R] {
    let mut acc = [[0.0f64; 4]; R];
    for k in 0..m {
        let bk = &b[k * n + j0..k * n + j0 + 4];
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            let av = a[(i0 + ii) * m + k];
            for jj in 0..4 {
                acc_i[jj] += av * bk[jj];
            }
        }
    }
    acc
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tile<const R: usize>(
    a: &[f64],
    b: &[f64],
    i0: usize,
    j0: usize,
    m: usize,
    n: usize,
) -> [[f64; 4]; R] {
    use core::arch::wasm32::*;
    assert!((i0 + R) * m <= a.len() && (m - 1) * n + j0 + 4 <= b.len());
    let mut lo = [f64x2_splat(0.0); R];
    let mut hi = [f64x2_splat(0.0); R];
    for k in 0..m {
        // SAFETY: the assert above bounds every index read here; loads may be unaligned.
        unsafe {
            let bp = b.as_ptr().add(k * n + j0);
            let b_lo = v128_load(bp as *const v128);
            let b_hi = v128_load(bp.add(2) as *const v128);
            for ii in 0..R {
                let av = f64x2_splat(*a.as_ptr().add((i0 + ii) * m + k));
                lo[ii] = f64x2_add(lo[ii], f64x2_mul(av, b_lo));
                hi[ii] = f64x2_add(hi[ii], f64x2_mul(av, b_hi));
            }
        }
    }
    let mut acc = [[0.0; 4]; R];
    for ii in 0..R {
        acc[ii] = [
            f64x2_extract_lane::<0>(lo[ii]),
            f64x2_extract_lane::<1>(lo[ii]),
            f64x2_extract_lane::<0>(hi[ii]),
            f64x2_extract_lane::<1>(hi[ii]),
        ];
    }
    acc
}

/// `Σ a[i] b[i]` of two byte vectors, exact (fits in `u32` for up to 66051 elements).
pub fn dot_u8(a: &[u8], b: &[u8]) -> u32 {
    dot_u8_impl(a, b)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn dot_u8_impl(a: &[u8], b: &[u8]) -> u32 {
    // Written as plain widening multiply-adds: the compiler vectorises this loop natively.
    a.iter()
        .zip(b)
        .map(|(&x, &y)| u32::from(x) * u32::from(y))
        .sum()
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot_u8_impl(a: &[u8], b: &[u8]) -> u32 {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len());
    let body = n - n % 16;
    let mut acc = i32x4_splat(0);
    let mut i = 0;
    while i < body {
        // SAFETY: i + 16 <= body <= len of both slices; v128_load allows unaligned reads.
        let (x, y) = unsafe {
            (
                v128_load(a.as_ptr().add(i) as *const v128),
                v128_load(b.as_ptr().add(i) as *const v128),
            )
        };
        // u8 -> i16 is lossless, and each i32 lane sums products of at most 255 * 255.
        let lo = i32x4_dot_i16x8(u16x8_extend_low_u8x16(x), u16x8_extend_low_u8x16(y));
        let hi = i32x4_dot_i16x8(u16x8_extend_high_u8x16(x), u16x8_extend_high_u8x16(y));
        acc = i32x4_add(acc, i32x4_add(lo, hi));
        i += 16;
    }
    let mut total = (i32x4_extract_lane::<0>(acc) as u32)
        .wrapping_add(i32x4_extract_lane::<1>(acc) as u32)
        .wrapping_add(i32x4_extract_lane::<2>(acc) as u32)
        .wrapping_add(i32x4_extract_lane::<3>(acc) as u32);
    for j in body..n {
        total += u32::from(a[j]) * u32::from(b[j]);
    }
    total
}

/// The four exact products `[a0·b0, a0·b1, a1·b0, a1·b1]` of byte vectors (as [`dot_u8`]; each
/// vector is read once instead of twice).
pub fn dot_u8_2x2(a0: &[u8], a1: &[u8], b0: &[u8], b1: &[u8]) -> [u32; 4] {
    dot_u8_2x2_impl(a0, a1, b0, b1)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn dot_u8_2x2_impl(a0: &[u8], a1: &[u8], b0: &[u8], b1: &[u8]) -> [u32; 4] {
    [
        dot_u8(a0, b0),
        dot_u8(a0, b1),
        dot_u8(a1, b0),
        dot_u8(a1, b1),
    ]
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dot_u8_2x2_impl(a0: &[u8], a1: &[u8], b0: &[u8], b1: &[u8]) -> [u32; 4] {
    use core::arch::wasm32::*;
    let n = a0.len().min(a1.len()).min(b0.len()).min(b1.len());
    let body = n - n % 16;
    let mut acc = [i32x4_splat(0); 4];
    let mut i = 0;
    while i < body {
        // SAFETY: i + 16 <= body <= the length of every slice; v128_load allows unaligned reads.
        let [x0, x1, y0, y1] =
            [a0, a1, b0, b1].map(|v| unsafe { v128_load(v.as_ptr().add(i) as *const v128) });
        // u8 -> i16 is lossless, and each i32 lane sums products of at most 255 * 255.
        let (x0l, x0h) = (u16x8_extend_low_u8x16(x0), u16x8_extend_high_u8x16(x0));
        let (x1l, x1h) = (u16x8_extend_low_u8x16(x1), u16x8_extend_high_u8x16(x1));
        let (y0l, y0h) = (u16x8_extend_low_u8x16(y0), u16x8_extend_high_u8x16(y0));
        let (y1l, y1h) = (u16x8_extend_low_u8x16(y1), u16x8_extend_high_u8x16(y1));
        let pairs = [
            (x0l, x0h, y0l, y0h),
            (x0l, x0h, y1l, y1h),
            (x1l, x1h, y0l, y0h),
            (x1l, x1h, y1l, y1h),
        ];
        for (a, (xl, xh, yl, yh)) in acc.iter_mut().zip(pairs) {
            *a = i32x4_add(
                *a,
                i32x4_add(i32x4_dot_i16x8(xl, yl), i32x4_dot_i16x8(xh, yh)),
            );
        }
        i += 16;
    }
    let lanes = |v: v128| {
        (i32x4_extract_lane::<0>(v) as u32)
            .wrapping_add(i32x4_extract_lane::<1>(v) as u32)
            .wrapping_add(i32x4_extract_lane::<2>(v) as u32)
            .wrapping_add(i32x4_extract_lane::<3>(v) as u32)
    };
    let mut out = acc.map(lanes);
    for j in body..n {
        let (x0, x1, y0, y1) = (
            u32::from(a0[j]),
            u32::from(a1[j]),
            u32::from(b0[j]),
            u32::from(b1[j]),
        );
        out[0] += x0 * y0;
        out[1] += x0 * y1;
        out[2] += x1 * y0;
        out[3] += x1 * y1;
    }
    out
}

/// The Gram matrix `K[i][j] = Σ_k p_i[k] p_j[k]` of `m` byte vectors of length `n` stored one
/// after the other, as `m x m` row-major `u32` (exact; symmetric, each pair computed once,
/// except the two halves of the 2 x 2 blocks on the diagonal).
pub fn gram_u8(pixels: &[u8], n: usize) -> Vec<u32> {
    let m = pixels.len().checked_div(n).unwrap_or(0);
    let mut k = vec![0u32; m * m];
    let row = |i: usize| &pixels[i * n..(i + 1) * n];
    let pairs = m - m % 2;
    for i in (0..pairs).step_by(2) {
        for j in (i..pairs).step_by(2) {
            let v = dot_u8_2x2(row(i), row(i + 1), row(j), row(j + 1));
            for (d, (r, c)) in [(i, j), (i, j + 1), (i + 1, j), (i + 1, j + 1)]
                .into_iter()
                .enumerate()
            {
                k[r * m + c] = v[d];
                k[c * m + r] = v[d];
            }
        }
    }
    // The last row and column when m is odd.
    if pairs < m {
        let last = row(m - 1);
        for j in 0..m {
            let v = dot_u8(last, row(j));
            k[(m - 1) * m + j] = v;
            k[j * m + m - 1] = v;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_u8_is_every_pairwise_dot() {
        for (m, n) in [(0, 5), (1, 5), (2, 17), (5, 33), (6, 16), (7, 100)] {
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
    fn dot_2x2_is_four_dots_bit_for_bit() {
        let v = |seed: f64, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| ((i as f64 + seed) * 0.7).sin() * 1e3)
                .collect()
        };
        for n in [0, 3, 4, 5, 209, 12288] {
            let (a0, a1, b0, b1) = (v(1.0, n), v(2.0, n), v(3.0, n), v(4.0, n));
            let r = dot_2x2(&a0, &a1, &b0, &b1);
            let want = [dot(&a0, &b0), dot(&a0, &b1), dot(&a1, &b0), dot(&a1, &b1)];
            assert_eq!(r.map(f64::to_bits), want.map(f64::to_bits), "n = {n}");
        }
    }

    #[test]
    fn dot_matches_a_plain_sum_and_handles_tails() {
        for n in [0, 1, 7, 8, 9, 17, 100] {
            let a: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 3.0).collect();
            let b: Vec<f64> = (0..n).map(|i| 1.0 / (i as f64 + 1.0)).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-12, "n = {n}");
        }
    }

    #[test]
    fn matmul_matches_the_definition_in_order() {
        for (r, m, n) in [(1, 209, 209), (20, 9, 7), (5, 3, 8), (4, 4, 4), (0, 3, 2)] {
            let a: Vec<f64> = (0..r * m).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..m * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let got = matmul(&a, &b, r, m, n);
            for i in 0..r {
                for j in 0..n {
                    let mut s = 0.0;
                    for k in 0..m {
                        s += a[i * m + k] * b[k * n + j];
                    }
                    assert_eq!(
                        got[i * n + j].to_bits(),
                        s.to_bits(),
                        "({r},{m},{n}) [{i},{j}]"
                    );
                }
            }
        }
    }

    #[test]
    fn unit_table_holds_the_exact_quotients() {
        for b in 0..=255u8 {
            assert_eq!(
                UNIT[usize::from(b)].to_bits(),
                (f64::from(b) / 255.0).to_bits()
            );
        }
    }

    #[test]
    fn byte_dot_and_gram_are_exact() {
        let n = 12288 + 5;
        let a = vec![255u8; n];
        assert_eq!(dot_u8(&a, &a), 255 * 255 * n as u32);
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
}
