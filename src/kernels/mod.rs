//! The few dense kernels training and encoding spend their time in, written so that the
//! WebAssembly SIMD build and the portable build give bit-identical results: a model trained in
//! the browser and one trained natively round the same way, and the page and the CLI agree on a
//! photo.
//!
//! Floating-point addition is not associative, so every kernel fixes its summation order, and
//! none uses fused multiply-add (one rounding fewer than a multiply then an add):
//! - [`dot`] keeps 4 partial sums, lane `k` taking the elements `i ≡ k (mod 4)`, and adds them
//!   as `(s0 + s1) + (s2 + s3)` at the end; the simd128 version holds the same 4 lanes in two
//!   `f64x2` registers. [`dot_2x2`] computes four such dot products at once (sharing the loads),
//!   and [`dot_1x2`] two, each rounded exactly like [`dot`].
//! - [`matmul`] (`f64`) and [`matmul_f32`] sum every entry in the order of the definition,
//!   `((0 + a_i0 b_0j) + a_i1 b_1j) + ...`: their SIMD parallelism runs across independent
//!   entries (neighbouring columns and rows), never inside one sum.
//! - [`gram_u8`] is exact integer arithmetic, so its order does not matter.

mod f32;
mod f64;
mod gram;

pub use self::f32::matmul_f32;
pub use self::f64::{dot, dot_1x2, dot_2x2, matmul, matmul_into, unit_scale, Panels, UNIT};
pub use self::gram::{dot_u16, dot_u16_3x3, gram_u8};

#[cfg(test)]
mod tests {
    use super::{matmul, matmul_f32, Panels};
    use std::fmt::Debug;
    use std::ops::{AddAssign, Mul};

    /// The element types of the matrix products.
    trait Real: Copy + Debug + AddAssign + Mul<Output = Self> {
        const ZERO: Self;
        fn of(x: f64) -> Self;
        fn bits(self) -> u64;
    }
    impl Real for f64 {
        const ZERO: f64 = 0.0;
        fn of(x: f64) -> f64 {
            x
        }
        fn bits(self) -> u64 {
            self.to_bits()
        }
    }
    impl Real for f32 {
        const ZERO: f32 = 0.0;
        fn of(x: f64) -> f32 {
            x as f32
        }
        fn bits(self) -> u64 {
            u64::from(self.to_bits())
        }
    }

    /// Asserts that `product(a, b, r, m, n)` equals, bit for bit, the row-major `(r, n)` product
    /// summed in the order of the definition, for shapes covering whole tiles, partial tiles,
    /// single rows, empty products and the sizes the trainers use (209 images; 729 positions of
    /// 108-value patches against 128 filters).
    fn matches_the_definition_in_order<T: Real>(
        product: impl Fn(&[T], &[T], usize, usize, usize) -> Vec<T>,
    ) {
        for (r, m, n) in [
            (1, 209, 209),
            (729, 108, 128),
            (20, 9, 7),
            (5, 3, 8),
            (5, 3, 9),
            (4, 4, 4),
            (4, 1, 8),
            (0, 3, 2),
            (1, 5, 37),
            (1, 7, 3),
            (6, 7, 32),
            (9, 1, 17),
            (9, 4, 16),
        ] {
            let a: Vec<T> = (0..r * m).map(|i| T::of((i as f64 * 0.37).sin())).collect();
            let b: Vec<T> = (0..m * n).map(|i| T::of((i as f64 * 0.11).cos())).collect();
            let got = product(&a, &b, r, m, n);
            assert_eq!(got.len(), r * n, "({r},{m},{n})");
            for i in 0..r {
                for j in 0..n {
                    let mut s = T::ZERO;
                    for k in 0..m {
                        s += a[i * m + k] * b[k * n + j];
                    }
                    assert_eq!(
                        got[i * n + j].bits(),
                        s.bits(),
                        "({r},{m},{n}) [{i},{j}]: {:?} vs {s:?}",
                        got[i * n + j]
                    );
                }
            }
        }
    }

    #[test]
    fn matmul_f64_matches_the_definition_in_order() {
        matches_the_definition_in_order::<f64>(|a, b, r, m, n| matmul(a, &Panels::new(b, m, n), r));
    }

    #[test]
    fn matmul_f32_matches_the_definition_in_order() {
        matches_the_definition_in_order::<f32>(|a, b, r, m, n| {
            let mut out = vec![f32::NAN; r * n];
            matmul_f32(a, b, &mut out, r, m, n);
            out
        });
    }
}
