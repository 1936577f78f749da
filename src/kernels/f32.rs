//! The `f32` matrix product the learned-feature model spends its time in (encoding is
//! ~10 M multiply-adds per image). The SIMD parallelism runs across 8 neighbouring columns,
//! never inside one sum, so the page and the CLI agree on a photo.

/// Columns per register tile (two 4-lane vectors).
const TILE_COLS: usize = 8;
/// Rows per register tile: 4 rows x 8 columns is 8 accumulators, which fit in the 16 vector
/// registers of x86-64 (where a browser's JIT runs the simd128 code) with room for the operands.
const TILE_ROWS: usize = 4;

/// `A B` for row-major `a` `(r, m)` and `b` `(m, n)`, written into row-major `out` `(r, n)`.
/// Nothing is written when the slices are too short for the shapes.
pub fn matmul_f32(a: &[f32], b: &[f32], out: &mut [f32], r: usize, m: usize, n: usize) {
    if a.len() < r * m || b.len() < m * n || out.len() < r * n {
        return;
    }
    let full_cols = n - n % TILE_COLS;
    let mut i0 = 0;
    while i0 < r {
        let rows = if i0 + TILE_ROWS <= r { TILE_ROWS } else { 1 };
        for j0 in (0..full_cols).step_by(TILE_COLS) {
            if rows == TILE_ROWS {
                let acc = tile::<TILE_ROWS>(a, b, i0, j0, m, n);
                for (ii, acc_i) in acc.iter().enumerate() {
                    out[(i0 + ii) * n + j0..(i0 + ii) * n + j0 + TILE_COLS].copy_from_slice(acc_i);
                }
            } else {
                let acc = tile::<1>(a, b, i0, j0, m, n);
                out[i0 * n + j0..i0 * n + j0 + TILE_COLS].copy_from_slice(&acc[0]);
            }
        }
        for i in i0..i0 + rows {
            for j in full_cols..n {
                let mut s = 0.0f32;
                for k in 0..m {
                    s += a[i * m + k] * b[k * n + j];
                }
                out[i * n + j] = s;
            }
        }
        i0 += rows;
    }
}

/// Rows `i0..i0+R`, columns `j0..j0+8` of `A B`; the caller guarantees they exist.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn tile<const R: usize>(
    a: &[f32],
    b: &[f32],
    i0: usize,
    j0: usize,
    m: usize,
    n: usize,
) -> [[f32; TILE_COLS]; R] {
    let mut acc = [[0.0f32; TILE_COLS]; R];
    for k in 0..m {
        let bk = &b[k * n + j0..k * n + j0 + TILE_COLS];
        for (ii, acc_i) in acc.iter_mut().enumerate() {
            let av = a[(i0 + ii) * m + k];
            for jj in 0..TILE_COLS {
                acc_i[jj] += av * bk[jj];
            }
        }
    }
    acc
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tile<const R: usize>(
    a: &[f32],
    b: &[f32],
    i0: usize,
    j0: usize,
    m: usize,
    n: usize,
) -> [[f32; TILE_COLS]; R] {
    use core::arch::wasm32::*;
    assert!(m > 0 && (i0 + R) * m <= a.len() && (m - 1) * n + j0 + TILE_COLS <= b.len());
    let mut lo = [f32x4_splat(0.0); R];
    let mut hi = [f32x4_splat(0.0); R];
    for k in 0..m {
        // SAFETY: the assert above bounds every index read here; loads may be unaligned.
        unsafe {
            let bp = b.as_ptr().add(k * n + j0);
            let b_lo = v128_load(bp as *const v128);
            let b_hi = v128_load(bp.add(4) as *const v128);
            for ii in 0..R {
                let av = f32x4_splat(*a.as_ptr().add((i0 + ii) * m + k));
                lo[ii] = f32x4_add(lo[ii], f32x4_mul(av, b_lo));
                hi[ii] = f32x4_add(hi[ii], f32x4_mul(av, b_hi));
            }
        }
    }
    let mut acc = [[0.0; TILE_COLS]; R];
    for ii in 0..R {
        acc[ii] = [
            f32x4_extract_lane::<0>(lo[ii]),
            f32x4_extract_lane::<1>(lo[ii]),
            f32x4_extract_lane::<2>(lo[ii]),
            f32x4_extract_lane::<3>(lo[ii]),
            f32x4_extract_lane::<0>(hi[ii]),
            f32x4_extract_lane::<1>(hi[ii]),
            f32x4_extract_lane::<2>(hi[ii]),
            f32x4_extract_lane::<3>(hi[ii]),
        ];
    }
    acc
}
