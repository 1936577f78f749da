//! Spherical k-means, one step at a time: unit filters, each patch assigned to the filter with
//! the largest |dot product|, the filters moved to the dot-weighted sums of their patches.

use super::KMEANS_DAMPING;
use crate::kernels::matmul_f32;
use crate::rng::Mt19937;

/// `filters` unit rows (row-major `k x d`) from `k` distinct patches of `x` (`n x d`),
/// chosen with `rng`. Zero patches get a unit first coordinate.
pub fn init(x: &[f32], d: usize, k: usize, rng: &mut Mt19937) -> Vec<f64> {
    let n = x.len() / d;
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut dict = vec![0.0; k * d];
    for (f, &i) in order.iter().take(k).enumerate() {
        for j in 0..d {
            dict[f * d + j] = f64::from(x[i * d + j]);
        }
    }
    normalise_rows(&mut dict, d, None);
    dict
}

/// Scales every row of `dict` to unit length; a zero row is replaced by the same row of
/// `fallback` (or by a unit first coordinate).
pub fn normalise_rows(dict: &mut [f64], d: usize, fallback: Option<&[f64]>) {
    for (f, row) in dict.chunks_exact_mut(d).enumerate() {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            row.iter_mut().for_each(|v| *v /= norm);
        } else if let Some(old) = fallback {
            row.copy_from_slice(&old[f * d..(f + 1) * d]);
        } else {
            row.fill(0.0);
            row[0] = 1.0;
        }
    }
}

/// The running sums of one k-means iteration.
#[derive(Clone, Debug)]
pub struct Accumulator {
    d: usize,
    k: usize,
    /// Filters of this iteration, transposed to `d x k` `f32` for the product.
    dict_t: Vec<f32>,
    sums: Vec<f64>,
    /// `Σ max_k (d_k·x)²` over the patches seen: the objective, which k-means never lowers.
    pub objective: f64,
}

impl Accumulator {
    /// Starts an iteration with unit filters `dict` (`k x d`).
    pub fn new(dict: &[f64], d: usize) -> Self {
        let k = dict.len() / d;
        let mut dict_t = vec![0.0f32; d * k];
        for f in 0..k {
            for j in 0..d {
                dict_t[j * k + f] = dict[f * d + j] as f32;
            }
        }
        Accumulator {
            d,
            k,
            dict_t,
            sums: vec![0.0; k * d],
            objective: 0.0,
        }
    }

    /// Assigns the patches `x` (`n x d`) to the filter with the largest |dot| and adds
    /// `dot x patch` to that filter's sum.
    pub fn add(&mut self, x: &[f32]) {
        let (d, k) = (self.d, self.k);
        let n = x.len() / d;
        let mut s = vec![0.0f32; n * k];
        matmul_f32(x, &self.dict_t, &mut s, n, d, k);
        for i in 0..n {
            let row = &s[i * k..(i + 1) * k];
            let mut best = 0;
            for f in 1..k {
                if row[f].abs() > row[best].abs() {
                    best = f;
                }
            }
            let dot = f64::from(row[best]);
            self.objective += dot * dot;
            for j in 0..d {
                self.sums[best * d + j] += dot * f64::from(x[i * d + j]);
            }
        }
    }

    /// The new unit filters: `sum + 1e-3 old`, normalised.
    pub fn finish(mut self, old: &[f64]) -> Vec<f64> {
        for (s, o) in self.sums.iter_mut().zip(old) {
            *s += KMEANS_DAMPING * o;
        }
        normalise_rows(&mut self.sums, self.d, Some(old));
        self.sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_kmeans_iteration_by_hand() {
        // Points (2, 0), (0, 3), (-1, 0); filters (1, 0.2) and (0.2, 1), normalised (÷ √1.04).
        // (2, 0) and (-1, 0) go to filter 0 with dots 2/√1.04 and -1/√1.04, (0, 3) to filter 1
        // with 3/√1.04: objective (4 + 1 + 9)/1.04. New filter 0 ∝ (5/√1.04, 0) + 1e-3 old,
        // new filter 1 ∝ (0, 9/√1.04) + 1e-3 old.
        let x = [2.0f32, 0.0, 0.0, 3.0, -1.0, 0.0];
        let mut dict = vec![1.0, 0.2, 0.2, 1.0];
        normalise_rows(&mut dict, 2, None);
        let mut acc = Accumulator::new(&dict, 2);
        acc.add(&x);
        assert!(
            (acc.objective - 14.0 / 1.04).abs() < 1e-5,
            "{}",
            acc.objective
        );
        let new = acc.finish(&dict);
        let s = 1.04f64.sqrt();
        let f0 = [5.0 / s + 1e-3 * dict[0], 1e-3 * dict[1]];
        let f1 = [1e-3 * dict[2], 9.0 / s + 1e-3 * dict[3]];
        let n0 = (f0[0] * f0[0] + f0[1] * f0[1]).sqrt();
        let n1 = (f1[0] * f1[0] + f1[1] * f1[1]).sqrt();
        let want = [f0[0] / n0, f0[1] / n0, f1[0] / n1, f1[1] / n1];
        for (g, w) in new.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{new:?} vs {want:?}");
        }
    }

    #[test]
    fn kmeans_keeps_the_filter_of_an_empty_cluster() {
        let x = [1.0f32, 0.0, 0.9, 0.1];
        let dict = vec![1.0, 0.0, 0.0, 1.0];
        let mut acc = Accumulator::new(&dict, 2);
        acc.add(&x);
        let new = acc.finish(&dict);
        assert_eq!(&new[2..], &[0.0, 1.0]);
    }
}
