//! The few dense kernels the fast trainer spends its time in, written so that the WebAssembly
//! SIMD build and the portable build give bit-identical results.
//!
//! [`dot`] keeps 8 partial sums, `lane k` taking elements `i ≡ k (mod 8)`, and adds them in a
//! fixed order at the end. The simd128 version holds the same 8 lanes in four `f64x2`
//! registers; neither uses fused multiply-add. So a model trained in the browser and one
//! trained natively round the same way. [`gram_u8`] is exact integer arithmetic on both.

/// `Σ a[i] b[i]` over the common length, in a fixed summation order (see the module docs).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let body = n - n % 8;
    let mut s = lanes(&a[..body], &b[..body]);
    for i in body..n {
        s[i % 8] += a[i] * b[i];
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn lanes(a: &[f64], b: &[f64]) -> [f64; 8] {
    let mut s = [0.0; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..8 {
            s[k] += x[k] * y[k];
        }
    }
    s
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn lanes(a: &[f64], b: &[f64]) -> [f64; 8] {
    use core::arch::wasm32::*;
    let mut acc = [f64x2_splat(0.0); 4];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..4 {
            let xv = f64x2(x[2 * k], x[2 * k + 1]);
            let yv = f64x2(y[2 * k], y[2 * k + 1]);
            acc[k] = f64x2_add(acc[k], f64x2_mul(xv, yv));
        }
    }
    let mut s = [0.0; 8];
    for k in 0..4 {
        s[2 * k] = f64x2_extract_lane::<0>(acc[k]);
        s[2 * k + 1] = f64x2_extract_lane::<1>(acc[k]);
    }
    s
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

/// The Gram matrix `K[i][j] = Σ_k p_i[k] p_j[k]` of `m` byte vectors of length `n` stored one
/// after the other, as `m x m` row-major `u32` (exact; symmetric, each pair computed once).
pub fn gram_u8(pixels: &[u8], n: usize) -> Vec<u32> {
    let m = pixels.len().checked_div(n).unwrap_or(0);
    let mut k = vec![0u32; m * m];
    for i in 0..m {
        let a = &pixels[i * n..(i + 1) * n];
        for j in i..m {
            let v = dot_u8(a, &pixels[j * n..(j + 1) * n]);
            k[i * m + j] = v;
            k[j * m + i] = v;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

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
