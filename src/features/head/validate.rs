//! The cross-validation fits that pick C, and the final fit on every row at that C.

use super::{
    solver_chunk, CrossValidation, Data, FitState, HeadFit, C_GRID, FOLDS, SOLVER_MAX_ITERATIONS,
    SOLVER_TOLERANCE,
};
use crate::features::logreg::{self, Solver};
use crate::Result;

/// Cross-validation fits: every C with every fold held out.
const TASKS: usize = FOLDS * C_GRID.len();

/// The Gram matrix of the standardised features and the fold of each training image (a copy
/// is in its original's fold).
#[derive(Debug)]
pub(super) struct Folds {
    /// `rows x rows`: the images, then each further copy.
    gram: Vec<f64>,
    /// Fold of each of the `m` training images.
    fold: Vec<usize>,
    rows: usize,
    /// Estimate of λmax(K + 11ᵀ) of the whole Gram matrix: it bounds that of every principal
    /// submatrix (Cauchy interlacing), so every fit can step by it.
    lambda_max: f64,
}

impl Folds {
    pub(super) fn new(gram: Vec<f64>, fold: Vec<usize>, rows: usize) -> Folds {
        let lambda_max = logreg::lambda_max_plus_ones(&gram, rows);
        Folds {
            gram,
            fold,
            rows,
            lambda_max,
        }
    }

    /// The rows outside fold `held`, or all of them.
    fn train_rows(&self, held: Option<usize>) -> Vec<usize> {
        let m = self.fold.len();
        (0..self.rows)
            .filter(|&r| Some(self.fold[r % m]) != held)
            .collect()
    }

    /// The rows of fold `held`.
    fn held_rows(&self, held: usize) -> Vec<usize> {
        let m = self.fold.len();
        (0..self.rows)
            .filter(|&r| self.fold[r % m] == held)
            .collect()
    }

    fn sub_gram(&self, rows: &[usize], cols: &[usize]) -> Vec<f64> {
        let n = self.rows;
        rows.iter()
            .flat_map(|&i| cols.iter().map(move |&j| self.gram[i * n + j]))
            .collect()
    }

    /// A logistic regression of `classes` classes on `rows` with inverse penalty `c`, from
    /// `warm` if given.
    fn solver(&self, data: &Data, rows: &[usize], c: f64, warm: Option<&Warm>) -> Result<Solver> {
        let k = self.sub_gram(rows, rows);
        let labels = &data.labels;
        let y: Vec<u8> = rows.iter().map(|&r| labels[r % labels.len()]).collect();
        let start = warm.map(|(a, b)| (a.as_slice(), b.as_slice()));
        Solver::new(
            k,
            &y,
            data.classes,
            c,
            start,
            SOLVER_TOLERANCE,
            SOLVER_MAX_ITERATIONS,
            Some(self.lambda_max),
        )
    }
}

/// A solution `(α, b)` to start the next fit from.
type Warm = (Vec<f64>, Vec<f64>);

/// The cross-validation fits, one after the other.
#[derive(Debug)]
pub(super) struct Validating {
    folds: Folds,
    /// The fit under way: C number `task / FOLDS`, fold `task % FOLDS` held out.
    task: usize,
    /// The rows it trains on.
    rows: Vec<usize>,
    solver: Solver,
    /// Held-out correct answers per C.
    correct: Vec<usize>,
    /// The last solution of each fold: the next C's warm start.
    warm: Vec<Option<Warm>>,
}

impl Validating {
    pub(super) fn start(data: &Data, folds: Folds) -> Result<FitState> {
        let rows = folds.train_rows(Some(0));
        let solver = folds.solver(data, &rows, C_GRID[0], None)?;
        Ok(FitState::Validating(Box::new(Validating {
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
    pub(super) fn unit(mut self: Box<Self>, data: &Data) -> Result<(FitState, f64)> {
        let cost = solver_chunk(&mut self.solver, self.rows.len())?;
        if !self.solver.is_done() {
            return Ok((FitState::Validating(self), cost));
        }
        self.score(&data.labels);
        let task = self.task + 1;
        if task == TASKS {
            let cv = self.cross_validation();
            return Ok((FinalRegression::start(data, &self.folds, cv)?, cost));
        }
        let fold = task % FOLDS;
        self.rows = self.folds.train_rows(Some(fold));
        let warm = self.warm[fold].as_ref();
        self.solver = self
            .folds
            .solver(data, &self.rows, C_GRID[task / FOLDS], warm)?;
        self.task = task;
        Ok((FitState::Validating(self), cost))
    }

    /// Counts the held-out fold's correct answers and keeps the solution as its warm start.
    fn score(&mut self, labels: &[u8]) {
        let fold = self.task % FOLDS;
        let m = labels.len();
        let (alpha, b) = self.solver.solution();
        let held = self.folds.held_rows(fold);
        let kv = self.folds.sub_gram(&held, &self.rows);
        let n = self.rows.len();
        // One column of logits per output, `held.len()` each.
        let logits: Vec<Vec<f64>> = alpha
            .chunks_exact(n)
            .zip(b)
            .map(|(a, bo)| {
                let z = logreg::matvec_rect(&kv, a, held.len(), n);
                z.into_iter().map(|z| z + bo).collect()
            })
            .collect();
        let correct = held
            .iter()
            .enumerate()
            .filter(|&(h, &r)| {
                let z: Vec<f64> = logits.iter().map(|column| column[h]).collect();
                logreg::predicted(&z) == usize::from(labels[r % m])
            })
            .count();
        self.correct[self.task / FOLDS] += correct;
        self.warm[fold] = Some((alpha.to_vec(), b.to_vec()));
    }

    /// The accuracy of every C and the C picked.
    fn cross_validation(&self) -> CrossValidation {
        let total = self.folds.rows as f64;
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

/// The logistic regression on every row at the C picked.
#[derive(Debug)]
pub(super) struct FinalRegression {
    cross_validation: CrossValidation,
    /// Every row.
    rows: Vec<usize>,
    solver: Solver,
}

impl FinalRegression {
    fn start(data: &Data, folds: &Folds, cross_validation: CrossValidation) -> Result<FitState> {
        let rows = folds.train_rows(None);
        let solver = folds.solver(data, &rows, cross_validation.c, None)?;
        Ok(FitState::Final(Box::new(FinalRegression {
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
    pub(super) fn unit(mut self: Box<Self>, data: &Data) -> Result<(FitState, f64)> {
        let cost = solver_chunk(&mut self.solver, self.rows.len())?;
        if !self.solver.is_done() {
            return Ok((FitState::Final(self), cost));
        }
        let nf = data.nf;
        let (alpha, bias) = self.solver.solution();
        let n = self.rows.len();
        // wₒ = Zᵀαₒ over the standardised features, one row of `nf` per output.
        let mut weights = vec![0.0f64; nf * bias.len()];
        for (w, alpha) in weights.chunks_exact_mut(nf).zip(alpha.chunks_exact(n)) {
            for (&r, &a) in self.rows.iter().zip(alpha) {
                let f = &data.features[r * nf..(r + 1) * nf];
                for j in 0..nf {
                    w[j] += a * (f64::from(f[j]) - data.mean[j]) / data.std[j];
                }
            }
        }
        let bias = bias.to_vec();
        let fit = HeadFit {
            mean: data.mean.clone(),
            std: data.std.clone(),
            weights,
            bias,
            cross_validation: self.cross_validation,
            final_cost: self.solver.mean_cost(),
            final_iterations: self.solver.iterations(),
        };
        Ok((FitState::Done(Box::new(fit)), cost))
    }
}
