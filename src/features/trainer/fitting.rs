//! The fitting stage: the Gram matrix of the standardised features, the cross-validation fits
//! that pick C, and the final fit on every image and mirror.

use super::clustering::Learnt;
use super::{
    CrossValidation, FeatureReport, FeatureTrained, Inputs, State, GRAM_ROWS, SOLVER_CHUNK,
};
use crate::features::logreg::{self, Solver};
use crate::features::{
    FeatureModel, C_GRID, FOLDS, MIN_SCALE, SOLVER_MAX_ITERATIONS, SOLVER_TOLERANCE,
};
use crate::kernels::matmul_f32;
use crate::{Error, Result};

/// Cross-validation fits: every C with every fold held out.
const TASKS: usize = FOLDS * C_GRID.len();

/// The training features and their standardisation, carried to the model.
#[derive(Debug)]
pub(super) struct Encoded {
    learnt: Learnt,
    /// Features of `inputs.small[i]`, `2m x (8 x filters)` row-major, unstandardised.
    features: Vec<f32>,
    scaler_mean: Vec<f64>,
    scaler_std: Vec<f64>,
}

/// The Gram matrix `Z Zᵀ` of the standardised features, [`GRAM_ROWS`] rows at a time.
#[derive(Debug)]
pub(super) struct Gram {
    encoded: Encoded,
    /// First row not yet computed.
    next: usize,
    /// Standardised features `Z`, `2m x nf`, and `Zᵀ`.
    z: Vec<f32>,
    zt: Vec<f32>,
    /// `Z Zᵀ` so far, `2m x 2m`.
    k: Vec<f32>,
}

impl Gram {
    /// Standardises the features of all `2m` images.
    pub(super) fn start(inputs: &Inputs, learnt: Learnt, features: Vec<f32>) -> Result<State> {
        let rows = inputs.small.len();
        let nf = inputs.params.n_features();
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
        // unscaled: standardised it is 0 on every training image.
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
        let mut zt = vec![0.0f32; nf * rows];
        for i in 0..rows {
            for j in 0..nf {
                zt[j * rows + i] = z[i * nf + j];
            }
        }
        Ok(State::Gram(Box::new(Gram {
            encoded: Encoded {
                learnt,
                features,
                scaler_mean: mean,
                scaler_std: std,
            },
            next: 0,
            z,
            zt,
            k: vec![0.0; rows * rows],
        })))
    }

    pub(super) fn fraction(&self, inputs: &Inputs) -> f64 {
        0.1 * self.next as f64 / inputs.small.len() as f64
    }

    /// Computes the next rows; after the last, draws the folds and starts cross-validation.
    pub(super) fn unit(mut self: Box<Self>, inputs: &mut Inputs) -> Result<(State, f64)> {
        let rows2 = inputs.small.len();
        let nf = inputs.params.n_features();
        let (next, end) = (self.next, (self.next + GRAM_ROWS).min(rows2));
        let g = &mut *self;
        matmul_f32(
            &g.z[next * nf..end * nf],
            &g.zt,
            &mut g.k[next * rows2..end * rows2],
            end - next,
            nf,
            rows2,
        );
        let cost = ((end - next) * nf * rows2) as f64 / 1e6;
        if end < rows2 {
            self.next = end;
            return Ok((State::Gram(self), cost));
        }
        // Symmetrise: the upper triangle, as computed, wins.
        let k = &self.k;
        let mut gram = vec![0.0; rows2 * rows2];
        for i in 0..rows2 {
            for j in i..rows2 {
                let v = f64::from(k[i * rows2 + j]);
                gram[i * rows2 + j] = v;
                gram[j * rows2 + i] = v;
            }
        }
        let m = inputs.m();
        let mut order: Vec<usize> = (0..m).collect();
        inputs.rng.shuffle(&mut order);
        let mut fold = vec![0; m];
        for (pos, &i) in order.iter().enumerate() {
            fold[i] = pos % FOLDS;
        }
        let folds = Folds { gram, fold };
        Ok((Validating::start(inputs, self.encoded, folds)?, cost))
    }
}

/// The Gram matrix of the standardised features and the fold of each training image (a mirror
/// is in its original's fold).
#[derive(Debug)]
struct Folds {
    /// `2m x 2m`: images, then their mirrors.
    gram: Vec<f64>,
    /// Fold of each of the `m` training images.
    fold: Vec<usize>,
}

impl Folds {
    /// The rows (images and mirrors) outside fold `held`, or all of them.
    fn train_rows(&self, held: Option<usize>) -> Vec<usize> {
        let m = self.fold.len();
        (0..2 * m)
            .filter(|&r| Some(self.fold[r % m]) != held)
            .collect()
    }

    /// The rows of fold `held`.
    fn held_rows(&self, held: usize) -> Vec<usize> {
        let m = self.fold.len();
        (0..2 * m).filter(|&r| self.fold[r % m] == held).collect()
    }

    fn sub_gram(&self, rows: &[usize], cols: &[usize]) -> Vec<f64> {
        let n2 = 2 * self.fold.len();
        rows.iter()
            .flat_map(|&i| cols.iter().map(move |&j| self.gram[i * n2 + j]))
            .collect()
    }

    /// A logistic regression on `rows` with inverse penalty `c`, from `warm` if given.
    fn solver(
        &self,
        labels: &[u8],
        rows: &[usize],
        c: f64,
        warm: Option<&(Vec<f64>, f64)>,
    ) -> Result<Solver> {
        let k = self.sub_gram(rows, rows);
        let y: Vec<u8> = rows.iter().map(|&r| labels[r % labels.len()]).collect();
        let start = warm.map(|(a, b)| (a.as_slice(), *b));
        Solver::new(k, &y, c, start, SOLVER_TOLERANCE, SOLVER_MAX_ITERATIONS)
    }
}

/// [`SOLVER_CHUNK`] iterations of a fit on `rows` rows; returns their cost estimate.
fn solver_chunk(solver: &mut Solver, rows: usize) -> Result<f64> {
    solver.step(SOLVER_CHUNK)?;
    Ok((SOLVER_CHUNK * rows * rows) as f64 / 1e6)
}

/// The cross-validation fits, one after the other.
#[derive(Debug)]
pub(super) struct Validating {
    encoded: Encoded,
    folds: Folds,
    /// The fit under way: C number `task / FOLDS`, fold `task % FOLDS` held out.
    task: usize,
    /// The rows it trains on.
    rows: Vec<usize>,
    solver: Solver,
    /// Held-out correct answers per C.
    correct: Vec<usize>,
    /// The last solution of each fold: the next C's warm start.
    warm: Vec<Option<(Vec<f64>, f64)>>,
}

impl Validating {
    fn start(inputs: &Inputs, encoded: Encoded, folds: Folds) -> Result<State> {
        let rows = folds.train_rows(Some(0));
        let solver = folds.solver(&inputs.labels, &rows, C_GRID[0], None)?;
        Ok(State::Validating(Box::new(Validating {
            encoded,
            folds,
            task: 0,
            rows,
            solver,
            correct: vec![0; C_GRID.len()],
            warm: vec![None; FOLDS],
        })))
    }

    /// The fits done so far are the task number; the Gram matrix counts for the first 10 %.
    pub(super) fn fraction(&self) -> f64 {
        0.1 + 0.9 * self.task as f64 / (TASKS + 1) as f64
    }

    /// Solver iterations; at the end of a fit, scores it and starts the next one (the final
    /// regression after the last).
    pub(super) fn unit(mut self: Box<Self>, inputs: &Inputs) -> Result<(State, f64)> {
        let cost = solver_chunk(&mut self.solver, self.rows.len())?;
        if !self.solver.is_done() {
            return Ok((State::Validating(self), cost));
        }
        self.score(&inputs.labels);
        let task = self.task + 1;
        if task == TASKS {
            let cv = self.cross_validation(inputs.m());
            let Validating { encoded, folds, .. } = *self;
            return Ok((FinalRegression::start(inputs, encoded, &folds, cv)?, cost));
        }
        let fold = task % FOLDS;
        self.rows = self.folds.train_rows(Some(fold));
        let warm = self.warm[fold].as_ref();
        self.solver = self
            .folds
            .solver(&inputs.labels, &self.rows, C_GRID[task / FOLDS], warm)?;
        self.task = task;
        Ok((State::Validating(self), cost))
    }

    /// Counts the held-out fold's correct answers and keeps the solution as its warm start.
    fn score(&mut self, labels: &[u8]) {
        let fold = self.task % FOLDS;
        let m = labels.len();
        let (alpha, b) = self.solver.solution();
        let held = self.folds.held_rows(fold);
        let kv = self.folds.sub_gram(&held, &self.rows);
        let logits = logreg::matvec_rect(&kv, alpha, held.len(), self.rows.len());
        let correct = held
            .iter()
            .zip(&logits)
            .filter(|(&r, &z)| u8::from(z + b > 0.0) == labels[r % m])
            .count();
        self.correct[self.task / FOLDS] += correct;
        self.warm[fold] = Some((alpha.to_vec(), b));
    }

    /// The accuracy of every C and the C picked.
    fn cross_validation(&self, m: usize) -> CrossValidation {
        let total = (2 * m) as f64;
        let scores: Vec<(f64, f64)> = C_GRID
            .iter()
            .zip(&self.correct)
            .map(|(&c, &n)| (c, n as f64 / total))
            .collect();
        // The first maximum: the smallest C among ties.
        let best = scores
            .iter()
            .fold(scores[0], |best, &s| if s.1 > best.1 { s } else { best });
        CrossValidation { scores, c: best.0 }
    }
}

/// The logistic regression on every image and mirror at the C picked.
#[derive(Debug)]
pub(super) struct FinalRegression {
    encoded: Encoded,
    cross_validation: CrossValidation,
    /// Every row, `0..2m`.
    rows: Vec<usize>,
    solver: Solver,
}

impl FinalRegression {
    fn start(
        inputs: &Inputs,
        encoded: Encoded,
        folds: &Folds,
        cross_validation: CrossValidation,
    ) -> Result<State> {
        let rows = folds.train_rows(None);
        let solver = folds.solver(&inputs.labels, &rows, cross_validation.c, None)?;
        Ok(State::FinalRegression(Box::new(FinalRegression {
            encoded,
            cross_validation,
            rows,
            solver,
        })))
    }

    /// The cross-validation fits are done; this one is the last.
    pub(super) fn fraction() -> f64 {
        0.1 + 0.9 * TASKS as f64 / (TASKS + 1) as f64
    }

    /// Solver iterations; at the end, the weights over the standardised features.
    pub(super) fn unit(mut self: Box<Self>, inputs: &Inputs) -> Result<(State, f64)> {
        let cost = solver_chunk(&mut self.solver, self.rows.len())?;
        if !self.solver.is_done() {
            return Ok((State::FinalRegression(self), cost));
        }
        let nf = inputs.params.n_features();
        let e = &self.encoded;
        let (alpha, bias) = self.solver.solution();
        // w = Zᵀα over the standardised features.
        let mut weights = vec![0.0f64; nf];
        for (&r, &a) in self.rows.iter().zip(alpha) {
            let f = &e.features[r * nf..(r + 1) * nf];
            for j in 0..nf {
                weights[j] += a * (f64::from(f[j]) - e.scaler_mean[j]) / e.scaler_std[j];
            }
        }
        debug_assert_eq!(self.rows.len(), inputs.small.len());
        let (final_cost, final_iterations) = (self.solver.mean_cost(), self.solver.iterations());
        let FinalRegression {
            encoded,
            cross_validation,
            ..
        } = *self;
        let finished = Finished {
            encoded,
            cross_validation,
            weights,
            bias,
            final_cost,
            final_iterations,
        };
        Ok((State::Done(Box::new(finished)), cost))
    }
}

/// Everything the model and its report are made of.
#[derive(Debug)]
pub(super) struct Finished {
    encoded: Encoded,
    cross_validation: CrossValidation,
    weights: Vec<f64>,
    bias: f64,
    final_cost: f64,
    final_iterations: usize,
}

impl Finished {
    /// The checked model, and its accuracy on the training images (not the mirrors).
    pub(super) fn trained(self, inputs: Inputs) -> Result<FeatureTrained> {
        let Encoded {
            learnt,
            features,
            scaler_mean,
            scaler_std,
        } = self.encoded;
        let model = FeatureModel::from_parts(
            inputs.params,
            learnt.whitening,
            learnt.dictionary,
            scaler_mean,
            scaler_std,
            self.weights,
            self.bias,
            self.cross_validation.c,
        )
        .map_err(|e| Error::Numerical(format!("training produced an invalid model: {e}")))?;
        let nf = model.params().n_features();
        let m = inputs.labels.len();
        let right = (0..m)
            .filter(|&i| {
                let z = model.logit_from_features(&features[i * nf..(i + 1) * nf]);
                u8::from(z > 0.0) == inputs.labels[i]
            })
            .count();
        Ok(FeatureTrained {
            model,
            report: FeatureReport {
                cross_validation: self.cross_validation,
                kmeans_objective: learnt.kmeans_objective,
                final_cost: self.final_cost,
                final_iterations: self.final_iterations,
                train_accuracy: right as f64 / m as f64,
            },
        })
    }
}
