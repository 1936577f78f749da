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

/// Columns per panel of [`Panels`].
const PANEL: usize = 16;

/// A matrix `B` `(m, n)` stored for repeated products `A B` ([`matmul`]): as column panels of
/// [`PANEL`] columns, each `m x PANEL` and contiguous (zero-padded past column `n`). A product
/// then reads each panel (27 KB for `m` = 209) front to back, instead of 16 columns out of
/// every row of `B`, which made the 209 x 209 Gram product almost twice as fast.
#[derive(Debug, Clone)]
pub struct Panels {
    data: Vec<f64>,
    m: usize,
    n: usize,
}

impl Panels {
    /// From row-major `b` `(m, n)` (missing values read as zero).
    pub fn new(b: &[f64], m: usize, n: usize) -> Panels {
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0.0; panels * m * PANEL];
        for (p, panel) in data.chunks_exact_mut(m * PANEL).enumerate() {
            for (k, row) in panel.chunks_exact_mut(PANEL).enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    let j = p * PANEL + c;
                    if j < n {
                        *v = b.get(k * n + j).copied().unwrap_or(0.0);
                    }
                }
            }
        }
        Panels { data, m, n }
    }

    /// `(m, n)`.
    pub fn dim(&self) -> (usize, usize) {
        (self.m, self.n)
    }
}

/// `A B` for row-major `a` `(r, m)` and `b` `(m, n)`, as a row-major `(r, n)` vector.
///
/// Every entry is summed in the same order, `((0 + a_i0 b_0j) + a_i1 b_1j) + ...`, whatever the
/// platform, with a separate multiply and add: the SIMD parallelism runs across independent
/// entries (register tiles of 4 rows x 4 columns, or 1 row x 16 columns, that the compiler
/// vectorises natively and that use simd128 in WebAssembly), never inside one sum. A single row
/// gets the wide tile because each sum is a chain of dependent additions: 8 chains side by side
/// keep the adder busy, 2 would not.
pub fn matmul(a: &[f64], b: &Panels, r: usize) -> Vec<f64> {
    let (m, n) = b.dim();
    let mut out = vec![0.0; r * n];
    if a.len() < r * m || m == 0 {
        return out;
    }
    let mut put = |i: usize, j0: usize, vals: &[f64]| {
        for (c, &v) in vals.iter().enumerate().take(n.saturating_sub(j0)) {
            out[i * n + j0 + c] = v;
        }
    };
    let mut i0 = 0;
    while i0 < r {
        // Tiles of 4 rows while there are 4 left, then single rows.
        let rows = if i0 + 4 <= r { 4 } else { 1 };
        for (p, panel) in b.data.chunks_exact(m * PANEL).enumerate() {
            if rows == 4 {
                // Sub-tiles wholly in the zero padding are skipped.
                for sub in (0..PANEL).step_by(4).take_while(|&sub| p * PANEL + sub < n) {
                    let t = tile::<4, 2>(&a[i0 * m..(i0 + 4) * m], &panel[sub..], m);
                    for (ii, t_i) in t.iter().enumerate() {
                        put(i0 + ii, p * PANEL + sub, t_i.as_flattened());
                    }
                }
            } else {
                let t = tile::<1, 8>(&a[i0 * m..(i0 + 1) * m], panel, m);
                put(i0, p * PANEL, t[0].as_flattened());
            }
        }
        i0 += rows;
    }
    out
}

/// The `R x 2H` block `A_rows P` for `a_rows` `(R, m)` and the first `2H` columns of `p`, a
/// panel (row `k` at `p[k * PANEL..]`).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn tile<const R: usize, const H: usize>(a_rows: &[f64], p: &[f64], m: usize) -> [[[f64; 2]; H]; R] {
    let mut acc = [[[0.0f64; 2]; H]; R];
    for k in 0..m {
        let pk = &p[k * PANEL..k * PANEL + 2 * H];
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            let av = a_rows[ii * m + k];
            for (acc_ih, pkh) in acc_i.iter_mut().zip(pk.chunks_exact(2)) {
                acc_ih[0] += av * pkh[0];
                acc_ih[1] += av * pkh[1];
            }
        }
    }
    acc
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tile<const R: usize, const H: usize>(a_rows: &[f64], p: &[f64], m: usize) -> [[[f64; 2]; H]; R] {
    use core::arch::wasm32::*;
    assert!(R * m <= a_rows.len() && m > 0 && (m - 1) * PANEL + 2 * H <= p.len());
    let mut acc = [[f64x2_splat(0.0); H]; R];
    for k in 0..m {
        // SAFETY: the assert above bounds every index read here; loads may be unaligned.
        unsafe {
            let pk = p.as_ptr().add(k * PANEL);
            let b: [v128; H] = core::array::from_fn(|h| v128_load(pk.add(2 * h) as *const v128));
            for (ii, acc_i) in acc.iter_mut().enumerate() {
                let av = f64x2_splat(*a_rows.as_ptr().add(ii * m + k));
                for (acc_ih, &bh) in acc_i.iter_mut().zip(&b) {
                    *acc_ih = f64x2_add(*acc_ih, f64x2_mul(av, bh));
                }
            }
        }
    }
    acc.map(|row| row.map(|v| [f64x2_extract_lane::<0>(v), f64x2_extract_lane::<1>(v)]))
}

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
        for (r, m, n) in [
            (1, 209, 209),
            (20, 9, 7),
            (5, 3, 8),
            (4, 4, 4),
            (0, 3, 2),
            (1, 5, 37),
            (6, 7, 32),
            (9, 1, 17),
        ] {
            let a: Vec<f64> = (0..r * m).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..m * n).map(|i| (i as f64 * 0.11).cos()).collect();
            let got = matmul(&a, &Panels::new(&b, m, n), r);
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
