//! The patch and whitening stages: random normalised patches, their covariance in chunks, then
//! the whitening and the k-means start.

use super::clustering::{Clustering, Learnt};
use super::encoding::Encoding;
use super::{Inputs, State, CHUNK};
use crate::features::{extract_patch, kmeans, Whitening, PATCH_LEN, POSITIONS};
use crate::kernels::matmul_f32;
use crate::Result;

/// Samples `patches` normalised patches (image, row and column drawn in that order).
pub(super) fn sample(inputs: &mut Inputs) -> (State, f64) {
    let (n, d, m) = (inputs.params.patches(), PATCH_LEN, inputs.m());
    let mut patches = vec![0.0f32; n * d];
    for p in patches.chunks_exact_mut(d) {
        let img = inputs.rng.below(m as u32) as usize;
        let r = inputs.rng.below(POSITIONS as u32) as usize;
        let c = inputs.rng.below(POSITIONS as u32) as usize;
        extract_patch(&inputs.small[img], r, c, p);
    }
    let cost = (n * d * 4) as f64 / 1e6;
    let next = Covariance {
        patches,
        next: 0,
        cov: vec![0.0; d * d],
    };
    (State::Covariance(next), cost)
}

/// Summing `Σ xᵀx` over the sampled patches, [`CHUNK`] at a time.
#[derive(Debug)]
pub(super) struct Covariance {
    /// The sampled patches, `patches x 108` row-major.
    patches: Vec<f32>,
    /// First patch not yet summed.
    next: usize,
    /// `Σ xᵀx` so far, `108 x 108` row-major.
    cov: Vec<f64>,
}

impl Covariance {
    pub(super) fn fraction(&self, inputs: &Inputs) -> f64 {
        self.next as f64 / inputs.params.patches() as f64
    }

    pub(super) fn unit(mut self, inputs: &Inputs) -> (State, f64) {
        let (n, d, next) = (inputs.params.patches(), PATCH_LEN, self.next);
        let end = (next + CHUNK).min(n);
        let chunk = &self.patches[next * d..end * d];
        let rows = end - next;
        let mut t = vec![0.0f32; d * rows];
        for i in 0..rows {
            for j in 0..d {
                t[j * rows + i] = chunk[i * d + j];
            }
        }
        let mut prod = vec![0.0f32; d * d];
        matmul_f32(&t, chunk, &mut prod, d, rows, d);
        for (c, p) in self.cov.iter_mut().zip(&prod) {
            *c += f64::from(*p);
        }
        let cost = (rows * d * d) as f64 / 1e6;
        if end < n {
            self.next = end;
            (State::Covariance(self), cost)
        } else {
            let Covariance { patches, cov, .. } = self;
            (State::Eigen(Eigen { patches, cov }), cost)
        }
    }
}

/// The whitening from the covariance, in one unit.
#[derive(Debug)]
pub(super) struct Eigen {
    patches: Vec<f32>,
    /// `Σ xᵀx` over all the patches.
    cov: Vec<f64>,
}

impl Eigen {
    /// Whitens the patches and draws the k-means start from them; goes on to k-means, or
    /// straight to encoding when there are no k-means iterations.
    pub(super) fn unit(self, inputs: &mut Inputs) -> Result<(State, f64)> {
        let (n, d) = (inputs.params.patches(), PATCH_LEN);
        let Eigen { mut patches, cov } = self;
        let mean: Vec<f64> = (0..d)
            .map(|j| {
                patches
                    .chunks_exact(d)
                    .map(|p| f64::from(p[j]))
                    .sum::<f64>()
                    / n as f64
            })
            .collect();
        let cov: Vec<f64> = (0..d * d)
            .map(|ij| cov[ij] / n as f64 - mean[ij / d] * mean[ij % d])
            .collect();
        let whitening = Whitening::from_covariance(mean, &cov)?;
        whitening.apply(&mut patches);
        let dictionary = kmeans::init(&patches, d, inputs.params.filters(), &mut inputs.rng);
        let learnt = Learnt {
            whitening,
            dictionary,
            kmeans_objective: Vec::new(),
        };
        let cost = inputs.stage_costs()[1];
        let next = if inputs.params.kmeans_iterations() == 0 {
            Encoding::start(inputs, learnt)
        } else {
            Clustering::begin(patches, learnt, 0)
        };
        Ok((next, cost))
    }
}
