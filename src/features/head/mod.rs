//! The head both feature models share: features standardised, their Gram matrix, an L2 logistic
//! regression (two-class, or multinomial over more classes: see [`crate::features::logreg`]) whose inverse penalty `C` is picked by [`FOLDS`]-fold cross-validation over
//! [`C_GRID`] on the training set only, then the final fit on every row. Resumable: each
//! [`HeadFitter::unit`] is a bounded amount of work (a block of Gram rows, or a few solver
//! iterations), so a Web Worker can report progress and honour a cancel between them.
//!
//! The rows are `copies` copies of the `m` training images (the learned-feature model adds each
//! image's mirror: `copies = 2`, row `r` is a copy of image `r % m`); a copy shares its
//! original's label and fold, so a held-out fold holds out every copy of its images.

mod validate;

use serde::{Deserialize, Serialize};

use crate::kernels::matmul_f32;
use crate::rng::Mt19937;
use crate::{Error, Result};

use validate::{FinalRegression, Folds, Validating};

/// Inverse penalties tried by cross-validation.
pub const C_GRID: [f64; 8] = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0];
/// Folds of the cross-validation.
pub const FOLDS: usize = 5;
/// Smallest feature scale kept: a feature whose standard deviation is below it is left
/// unscaled (standardised, it is 0 on every training row).
pub const MIN_SCALE: f64 = 1e-6;
/// Relative gradient norm at which a logistic-regression fit stops.
pub(crate) const SOLVER_TOLERANCE: f64 = 1e-3;
/// Iterations at most per logistic-regression fit.
pub(crate) const SOLVER_MAX_ITERATIONS: usize = 300;
/// Rows of the Gram matrix per unit of work.
const GRAM_ROWS: usize = 32;
/// Logistic-regression iterations per unit of work.
const SOLVER_CHUNK: usize = 20;

/// Result of the cross-validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// `(C, validation accuracy)` for every C tried, accuracy over the held-out rows (images
    /// and their copies).
    pub scores: Vec<(f64, f64)>,
    /// The C picked: the best accuracy, the smallest C among ties.
    pub c: f64,
}

/// A fitted head: `logitₒ = Σ_j weights[o][j] (x[j] - mean[j]) / std[j] + bias[o]` for each
/// output `o`: one (the second class's logit) for two classes, else one per class.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadFit {
    /// Feature means over the training rows, `(nf,)`.
    pub mean: Vec<f64>,
    /// Feature standard deviations, `(nf,)`, each `>= MIN_SCALE` (else 1).
    pub std: Vec<f64>,
    /// Weights over the standardised features, `(outputs, nf)` row-major.
    pub weights: Vec<f64>,
    /// Intercepts, `(outputs,)`.
    pub bias: Vec<f64>,
    pub cross_validation: CrossValidation,
    /// Objective of the final fit divided by `C n`: mean cross-entropy over the rows plus
    /// `‖w‖²/(2Cn)`.
    pub final_cost: f64,
    /// Iterations of the final fit.
    pub final_iterations: usize,
}

/// The logit of a fitted head on one row of unstandardised features `f` (`(nf,)`):
/// `Σ_j weights[j] (f[j] - mean[j]) / std[j] + bias`, the standardised values summed with
/// [`crate::kernels::dot`] (the same rounding natively and in wasm). Both feature models
/// classify with it.
pub fn logit(f: &[f32], mean: &[f64], std: &[f64], weights: &[f64], bias: f64) -> f64 {
    crate::kernels::dot(&standardised(f, mean, std), weights) + bias
}

/// The logits of a fitted head on one row of unstandardised features `f` (`(nf,)`): one per
/// row of `weights` (`(outputs, nf)`), each as [`logit`] computes it.
pub fn logits(f: &[f32], mean: &[f64], std: &[f64], weights: &[f64], bias: &[f64]) -> Vec<f64> {
    let z = standardised(f, mean, std);
    weights
        .chunks_exact(f.len().max(1))
        .zip(bias)
        .map(|(w, b)| crate::kernels::dot(&z, w) + b)
        .collect()
}

/// `(f[j] - mean[j]) / std[j]` for each feature.
fn standardised(f: &[f32], mean: &[f64], std: &[f64]) -> Vec<f64> {
    f.iter()
        .zip(mean)
        .zip(std)
        .map(|((&x, m), s)| (f64::from(x) - m) / s)
        .collect()
}

/// What every fit reads: the rows, their standardisation, labels and folds.
#[derive(Debug)]
struct Data {
    /// Unstandardised features, `rows x nf` row-major.
    features: Vec<f32>,
    nf: usize,
    /// Labels of the `m` images, `0..classes`.
    labels: Vec<u8>,
    classes: usize,
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Data {
    fn rows(&self) -> usize {
        self.features.len() / self.nf
    }
}

/// A head being fitted.
#[derive(Debug)]
pub struct HeadFitter {
    data: Data,
    state: FitState,
}

#[derive(Debug)]
enum FitState {
    Gram(Box<Gram>),
    Validating(Box<Validating>),
    Final(Box<FinalRegression>),
    Done(Box<HeadFit>),
    Failed,
}

/// `Z Zᵀ` of the standardised features, [`GRAM_ROWS`] rows at a time.
#[derive(Debug)]
struct Gram {
    fold: Vec<usize>,
    /// First row not yet computed.
    next: usize,
    /// Standardised features `Z`, `rows x nf`, and `Zᵀ`.
    z: Vec<f32>,
    zt: Vec<f32>,
    /// `Z Zᵀ` so far, `rows x rows`.
    k: Vec<f32>,
}

impl HeadFitter {
    /// Prepares a fit on `features` (`copies * m` rows of `nf` values: the `m` images, then
    /// each further copy in the same order) with `labels` (`m` values, `0..classes`), and draws
    /// the folds from `rng` (one shuffle of `0..m`; image `order[p]` goes to fold `p % FOLDS`).
    /// Needs at least [`FOLDS`] images. Non-finite features are [`Error::Numerical`].
    pub fn new(
        features: Vec<f32>,
        nf: usize,
        labels: &[u8],
        classes: usize,
        copies: usize,
        rng: &mut Mt19937,
    ) -> Result<Self> {
        let m = labels.len();
        crate::check::labels(labels, classes)?;
        if nf == 0 || copies == 0 || features.len() != copies * m * nf {
            return Err(Error::Shape(format!(
                "{} feature values for {copies} x {m} rows of {nf}",
                features.len()
            )));
        }
        if m < FOLDS {
            return Err(Error::Shape(format!(
                "{m} training images: the head needs at least {FOLDS} for its {FOLDS}-fold \
                 cross-validation"
            )));
        }
        let (mean, std) = standardisation(&features, nf)?;
        let z: Vec<f32> = features
            .chunks_exact(nf)
            .flat_map(|f| {
                f.iter()
                    .zip(&mean)
                    .zip(&std)
                    .map(|((&x, m), s)| ((f64::from(x) - m) / s) as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        let rows = copies * m;
        let mut zt = vec![0.0f32; nf * rows];
        for i in 0..rows {
            for j in 0..nf {
                zt[j * rows + i] = z[i * nf + j];
            }
        }
        let mut order: Vec<usize> = (0..m).collect();
        rng.shuffle(&mut order);
        let mut fold = vec![0; m];
        for (pos, &i) in order.iter().enumerate() {
            fold[i] = pos % FOLDS;
        }
        Ok(HeadFitter {
            data: Data {
                features,
                nf,
                labels: labels.to_vec(),
                classes,
                mean,
                std,
            },
            state: FitState::Gram(Box::new(Gram {
                fold,
                next: 0,
                z,
                zt,
                k: vec![0.0; rows * rows],
            })),
        })
    }

    /// Estimated cost of a whole fit on `rows` rows of `nf` features, millions of
    /// multiply-adds (150 solver iterations a fit).
    pub fn estimated_cost(rows: usize, nf: usize) -> f64 {
        let r = rows as f64;
        let fits = (FOLDS * C_GRID.len() + 1) as f64;
        r * r * nf as f64 / 1e6 + fits * 150.0 * (0.8 * r).powi(2) / 1e6
    }

    /// The fraction of the fit done, in [0, 1]: the Gram matrix counts for the first 10 %, the
    /// fits for the rest.
    pub fn fraction(&self) -> f64 {
        match &self.state {
            FitState::Gram(g) => 0.1 * g.next as f64 / self.data.rows() as f64,
            FitState::Validating(v) => v.fraction(),
            FitState::Final(_) => FinalRegression::fraction(),
            FitState::Done(_) | FitState::Failed => 1.0,
        }
    }

    /// True once fitted, or once a unit has failed.
    pub fn is_done(&self) -> bool {
        matches!(self.state, FitState::Done(_) | FitState::Failed)
    }

    /// The unstandardised features fitted on, `rows x nf`.
    pub fn features(&self) -> &[f32] {
        &self.data.features
    }

    /// One unit of work; returns its cost estimate (millions of multiply-adds). After an error
    /// the fitter is unusable.
    pub fn unit(&mut self) -> Result<f64> {
        let data = &self.data;
        let (next, cost) = match std::mem::replace(&mut self.state, FitState::Failed) {
            FitState::Gram(g) => g.unit(data)?,
            FitState::Validating(v) => v.unit(data)?,
            FitState::Final(f) => f.unit(data)?,
            done @ (FitState::Done(_) | FitState::Failed) => (done, 0.0),
        };
        self.state = next;
        Ok(cost)
    }

    /// The fitted head and the features it was fitted on. Fails unless done without failure.
    pub fn finish(self) -> Result<(HeadFit, Vec<f32>)> {
        match self.state {
            FitState::Done(fit) => Ok((*fit, self.data.features)),
            FitState::Failed => Err(Error::State(
                "the head's fit failed at an earlier step: there is no model",
            )),
            _ => Err(Error::State("the head is not fitted yet")),
        }
    }
}

/// Mean and standard deviation of each of the `nf` columns of `features` (in f64, rows in
/// order); scales below [`MIN_SCALE`] are left at 1.
fn standardisation(features: &[f32], nf: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let rows = features.len() / nf;
    let mut mean = vec![0.0f64; nf];
    for f in features.chunks_exact(nf) {
        for (m, &x) in mean.iter_mut().zip(f) {
            *m += f64::from(x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let mut var = vec![0.0f64; nf];
    for f in features.chunks_exact(nf) {
        for ((v, &x), m) in var.iter_mut().zip(f).zip(&mean) {
            *v += (f64::from(x) - m).powi(2);
        }
    }
    // A feature that never varies (a filter that never passes the threshold) is left
    // unscaled: standardised it is 0 on every training row.
    let std: Vec<f64> = var
        .iter()
        .map(|v| (v / rows as f64).sqrt())
        .map(|s| if s > MIN_SCALE { s } else { 1.0 })
        .collect();
    if std.iter().chain(&mean).any(|v| !v.is_finite()) {
        return Err(Error::Numerical(
            "the features of the training images are not finite".into(),
        ));
    }
    Ok((mean, std))
}

impl Gram {
    /// Computes the next rows; after the last, starts cross-validation.
    fn unit(mut self: Box<Self>, data: &Data) -> Result<(FitState, f64)> {
        let rows = data.rows();
        let nf = data.nf;
        let (next, end) = (self.next, (self.next + GRAM_ROWS).min(rows));
        let g = &mut *self;
        matmul_f32(
            &g.z[next * nf..end * nf],
            &g.zt,
            &mut g.k[next * rows..end * rows],
            end - next,
            nf,
            rows,
        );
        let cost = ((end - next) * nf * rows) as f64 / 1e6;
        if end < rows {
            self.next = end;
            return Ok((FitState::Gram(self), cost));
        }
        // Symmetrise: the upper triangle, as computed, wins.
        let k = &self.k;
        let mut gram = vec![0.0; rows * rows];
        for i in 0..rows {
            for j in i..rows {
                let v = f64::from(k[i * rows + j]);
                gram[i * rows + j] = v;
                gram[j * rows + i] = v;
            }
        }
        let folds = Folds::new(gram, std::mem::take(&mut self.fold), rows);
        Ok((Validating::start(data, folds)?, cost))
    }
}

/// [`SOLVER_CHUNK`] iterations of a fit on `rows` rows; returns their cost estimate.
fn solver_chunk(solver: &mut crate::features::logreg::Solver, rows: usize) -> Result<f64> {
    solver.step(SOLVER_CHUNK)?;
    Ok((SOLVER_CHUNK * rows * rows) as f64 / 1e6)
}
