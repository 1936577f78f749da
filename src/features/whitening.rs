//! ZCA whitening of patches: `V diag(1/sqrt(eig + 0.1)) Vᵀ` after subtracting their mean.

use super::{eig, ZCA_EPSILON};
use crate::kernels::matmul_f32;
use crate::Result;

/// ZCA whitening of 108-value patches.
#[derive(Clone, Debug, PartialEq)]
pub struct Whitening {
    /// Mean of the patches it was fitted on (108 values).
    pub mean: Vec<f64>,
    /// `V diag(1/sqrt(eig + 0.1)) Vᵀ`, row-major 108 x 108 (symmetric).
    pub matrix: Vec<f64>,
}

impl Whitening {
    /// From the mean and the covariance (row-major `d x d`) of the patches.
    pub fn from_covariance(mean: Vec<f64>, cov: &[f64]) -> Result<Self> {
        let d = mean.len();
        let (values, v) = eig::symmetric_eigen(cov, d)?;
        let scale: Vec<f64> = values
            .iter()
            .map(|&l| 1.0 / (l.max(0.0) + ZCA_EPSILON).sqrt())
            .collect();
        let mut matrix = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                matrix[i * d + j] = (0..d).map(|k| v[i * d + k] * scale[k] * v[j * d + k]).sum();
            }
        }
        Ok(Whitening { mean, matrix })
    }

    /// Whitens `patches` (`n x d`, row-major) in place: `(x - mean) Wz`.
    pub fn apply(&self, patches: &mut [f32]) {
        let d = self.mean.len();
        let w: Vec<f32> = self.matrix.iter().map(|&v| v as f32).collect();
        let n = patches.len() / d;
        for p in patches.chunks_exact_mut(d) {
            for (x, m) in p.iter_mut().zip(&self.mean) {
                *x -= *m as f32;
            }
        }
        let mut out = vec![0.0f32; n * d];
        matmul_f32(patches, &w, &mut out, n, d, d);
        patches[..n * d].copy_from_slice(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Mt19937;

    #[test]
    fn whitened_patches_have_identity_covariance() {
        // 4-dimensional correlated data with variances far above the 0.1 regulariser, whose
        // whitened covariance V diag(λ/(λ+0.1)) Vᵀ is then within 0.01 of the identity.
        let d = 4;
        let a = [
            [10.0, 3.0, 0.0, 1.0],
            [3.0, 12.0, 2.0, 0.0],
            [0.0, 2.0, 8.0, 4.0],
            [1.0, 0.0, 4.0, 15.0],
        ];
        let mut rng = Mt19937::new(7);
        let n = 20_000;
        let mut x = vec![0.0f32; n * d];
        for i in 0..n {
            // Uniform on [-√3, √3): unit variance.
            let g: Vec<f64> = (0..d)
                .map(|_| (rng.next_f64() * 2.0 - 1.0) * 3f64.sqrt())
                .collect();
            for r in 0..d {
                x[i * d + r] = (5.0 + (0..d).map(|k| a[r][k] * g[k]).sum::<f64>()) as f32;
            }
        }
        let cov_of = |x: &[f32]| -> (Vec<f64>, Vec<f64>) {
            let mean: Vec<f64> = (0..d)
                .map(|j| x.chunks_exact(d).map(|p| f64::from(p[j])).sum::<f64>() / n as f64)
                .collect();
            let mut cov = vec![0.0; d * d];
            for p in x.chunks_exact(d) {
                for i in 0..d {
                    for j in 0..d {
                        cov[i * d + j] +=
                            (f64::from(p[i]) - mean[i]) * (f64::from(p[j]) - mean[j]) / n as f64;
                    }
                }
            }
            (mean, cov)
        };
        let (mean, cov) = cov_of(&x);
        let w = Whitening::from_covariance(mean, &cov).unwrap();
        // The ZCA matrix is symmetric.
        for i in 0..d {
            for j in 0..d {
                assert!((w.matrix[i * d + j] - w.matrix[j * d + i]).abs() < 1e-12);
            }
        }
        w.apply(&mut x);
        let (mean, cov) = cov_of(&x);
        for i in 0..d {
            assert!(mean[i].abs() < 1e-4, "mean {mean:?}");
            for j in 0..d {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (cov[i * d + j] - want).abs() < 0.01,
                    "cov[{i}][{j}] = {}",
                    cov[i * d + j]
                );
            }
        }
    }
}
