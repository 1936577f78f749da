//! Resumable training: full-batch gradient descent on the cross-entropy cost with an optional
//! L2 penalty, run a few iterations at a time so a caller can report or stop between steps.

use std::ops::ControlFlow;

use ndarray::{Array2, Axis, Zip};
use serde::{Deserialize, Serialize};

use super::exact::First;
use super::model::relu;
use super::{Hyperparams, Inputs, Network};
use crate::check;
use crate::logistic::{mean_cross_entropy, sigmoid};
use crate::rng::NumpyRandn;
use crate::{Error, Result};

/// One progress report.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Progress {
    /// Iterations done so far, 0..=`iterations`.
    pub iteration: usize,
    /// Iterations planned.
    pub iterations: usize,
    /// Cost at `iteration` (with the weights before update number `iteration`, as the
    /// notebook prints it; at the end, with the final weights). Includes the L2 term.
    pub cost: f64,
}

/// What training reports beside the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// `(iteration, cost)` at iteration 0, every `report_every` iterations, and at the end.
    pub costs: Vec<(usize, f64)>,
    /// Cost of the final weights on the training set (with the L2 term).
    pub final_cost: f64,
    /// Iterations actually run (fewer than planned when stopped early).
    pub iterations_run: usize,
}

/// A fitted model and how it was obtained.
#[derive(Clone, Debug)]
pub struct Trained {
    pub network: Network,
    pub hyperparams: Hyperparams,
    pub report: TrainReport,
}

/// Resumable training: [`Trainer::step`] runs some iterations and returns, so a caller (a Web
/// Worker, a progress bar) can report, yield, or stop between steps.
#[derive(Debug)]
pub struct Trainer {
    hyper: Hyperparams,
    y: Array2<f64>,
    first: First,
    /// Biases of every layer, `(dims[l+1], 1)`.
    biases: Vec<Array2<f64>>,
    /// Weights of layers 2..L.
    rest: Vec<Array2<f64>>,
    iteration: usize,
    costs: Vec<(usize, f64)>,
    /// The logits of logistic regression's fast path ([`First::logistic_iteration`]), kept
    /// between iterations: `m` values once used.
    scratch: Vec<f64>,
    /// Whether logistic regression takes [`First::logistic_iteration`]: always, but in the
    /// tests that compare it with the general path.
    fast_path: bool,
}

impl Trainer {
    /// Prepares training on `x` `(n_x, m)` and labels `y` (`m` values, 0 or 1). Initial weights:
    /// zeros for logistic regression; otherwise numpy's legacy stream from `seed`,
    /// `W_l = randn(dims[l], dims[l-1]) / sqrt(dims[l-1])` drawn in layer order, zero biases.
    pub fn new(hyper: Hyperparams, inputs: impl Into<Inputs>, y: &[u8]) -> Result<Self> {
        let inputs = inputs.into();
        let (n_x, m) = inputs.dim();
        if m == 0 || n_x == 0 {
            return Err(Error::Shape(format!(
                "no training data: X is ({n_x}, {m}) (features, examples)"
            )));
        }
        if y.len() != m {
            return Err(Error::Shape(format!("{m} examples and {} labels", y.len())));
        }
        check::labels(y, 2)?;
        if let Inputs::Examples(xt) = &inputs {
            if xt.iter().any(|v| !v.is_finite()) {
                return Err(Error::Shape("X holds a value that is not finite".into()));
            }
        }
        let dims = hyper.dims(n_x);
        let mut weights: Vec<Array2<f64>> = if dims.len() == 2 {
            vec![Array2::zeros((1, n_x))]
        } else {
            let mut rng = NumpyRandn::new(hyper.seed());
            dims.windows(2)
                .map(|d| rng.randn_matrix(d[1], d[0]) / (d[0] as f64).sqrt())
                .collect()
        };
        let biases = dims[1..].iter().map(|&n| Array2::zeros((n, 1))).collect();
        let rest = weights.split_off(1);
        let w0 = weights.pop().unwrap_or_else(|| Array2::zeros((1, n_x)));
        let first = First::new(hyper.solver(), w0, inputs, hyper.hidden().is_empty());
        let y = Array2::from_shape_fn((1, m), |(_, j)| f64::from(y[j]));
        Ok(Trainer {
            hyper,
            y,
            first,
            biases,
            rest,
            iteration: 0,
            costs: Vec::new(),
            scratch: Vec::new(),
            fast_path: true,
        })
    }

    /// The hyper-parameters being trained with.
    pub fn hyperparams(&self) -> &Hyperparams {
        &self.hyper
    }

    /// Iterations done so far.
    pub fn iteration(&self) -> usize {
        self.iteration
    }

    /// True once every planned iteration has run.
    pub fn is_done(&self) -> bool {
        self.iteration >= self.hyper.iterations()
    }

    /// The iteration at which the next progress report falls (a multiple of `report_every`,
    /// or the last iteration).
    pub fn next_report(&self) -> usize {
        let every = self.hyper.report_every();
        ((self.iteration / every + 1) * every).min(self.hyper.iterations())
    }

    /// Runs the iterations up to the next progress report (see [`next_report`](Self::next_report)):
    /// the step of every caller that reports progress at the recorded costs.
    pub fn step_to_next_report(&mut self) -> Result<()> {
        self.step(self.next_report() - self.iteration)
    }

    /// The latest recorded cost (at a multiple of `report_every`), or `None` before any
    /// iteration has run.
    pub fn progress(&self) -> Option<Progress> {
        self.costs.last().map(|&(iteration, cost)| Progress {
            iteration,
            iterations: self.hyper.iterations(),
            cost,
        })
    }

    /// Forward pass: returns every layer's pre-activations `zs` and the cost with the L2 term.
    ///
    /// Without `with_cost` the cost is not computed (it costs two transcendental functions per
    /// example): the returned value is 0 when every logit is finite, NaN otherwise, which is
    /// all the divergence check needs.
    fn forward(&self, with_cost: bool) -> (Vec<Array2<f64>>, f64) {
        let m = self.y.ncols() as f64;
        let mut z = self.first.forward();
        z += &self.biases[0];
        let mut zs = vec![z];
        for (w, b) in self.rest.iter().zip(&self.biases[1..]) {
            let a = zs[zs.len() - 1].mapv(relu);
            let mut z = w.dot(&a);
            z += b;
            zs.push(z);
        }
        let zl = &zs[zs.len() - 1];
        if !with_cost {
            let finite = zl.iter().all(|z| z.is_finite());
            return (zs, if finite { 0.0 } else { f64::NAN });
        }
        let mut cost = mean_cross_entropy(zl, &self.y);
        if self.hyper.l2() > 0.0 {
            let sq: f64 = self.first.sq_norm()
                + self
                    .rest
                    .iter()
                    .map(|w| w.iter().map(|v| v * v).sum::<f64>())
                    .sum::<f64>();
            cost += self.hyper.l2() / (2.0 * m) * sq;
        }
        (zs, cost)
    }

    /// Runs up to `n` iterations (fewer if the plan ends first). Fails with [`Error::Diverged`]
    /// as soon as the cost stops being finite; the weights are then unusable.
    pub fn step(&mut self, n: usize) -> Result<()> {
        let m = self.y.ncols() as f64;
        let lr = self.hyper.learning_rate();
        let decay = 1.0 - lr * self.hyper.l2() / m;
        let end = (self.iteration + n).min(self.hyper.iterations());
        while self.iteration < end {
            let report = self.iteration % self.hyper.report_every() == 0;
            if self.logistic_iteration(decay, lr / m, report)? {
                self.iteration += 1;
                continue;
            }
            let (zs, cost) = self.forward(report);
            if !cost.is_finite() {
                return Err(self.diverged(cost));
            }
            if report {
                self.costs.push((self.iteration, cost));
            }
            // Backward: dZ_L = A_L - Y; dW_l = dZ_l A_{l-1}ᵀ / m + (λ/m) W_l; db_l = Σ dZ_l / m;
            // dZ_{l-1} = W_lᵀ dZ_l ∘ [Z_{l-1} > 0]. Each W_l is read before it is updated.
            let mut dz = &zs[zs.len() - 1].mapv(sigmoid) - &self.y;
            for l in (1..zs.len()).rev() {
                let a_prev = zs[l - 1].mapv(relu);
                let dw = dz.dot(&a_prev.t());
                let db = dz.sum_axis(Axis(1)).insert_axis(Axis(1));
                let w = &mut self.rest[l - 1];
                let mut da = w.t().dot(&dz);
                Zip::from(&mut da).and(&zs[l - 1]).for_each(|d, &z| {
                    if z <= 0.0 {
                        *d = 0.0;
                    }
                });
                w.mapv_inplace(|v| v * decay);
                w.scaled_add(-lr / m, &dw);
                self.biases[l].scaled_add(-lr / m, &db);
                dz = da;
            }
            let db = dz.sum_axis(Axis(1)).insert_axis(Axis(1));
            self.first.update(&dz, decay, lr / m);
            self.biases[0].scaled_add(-lr / m, &db);
            self.iteration += 1;
        }
        Ok(())
    }

    /// One iteration through [`First::logistic_iteration`], its cost recorded if `report`:
    /// `Ok(false)` when it does not apply (an L2 term in the cost to record: the general path
    /// computes it).
    fn logistic_iteration(&mut self, decay: f64, step: f64, report: bool) -> Result<bool> {
        if !self.fast_path || !self.rest.is_empty() || (report && self.hyper.l2() > 0.0) {
            return Ok(false);
        }
        let m = self.y.ncols();
        self.scratch.resize(m, 0.0);
        let (Some(y), Some(b)) = (self.y.as_slice(), self.biases[0].as_slice_mut()) else {
            return Ok(false);
        };
        let [b] = b else {
            return Ok(false);
        };
        match self
            .first
            .logistic_iteration(b, y, (decay, step), &mut self.scratch, report)
        {
            None => Ok(false),
            Some(cost) if !cost.is_finite() => Err(self.diverged(cost)),
            Some(cost) => {
                if report {
                    self.costs.push((self.iteration, cost));
                }
                Ok(true)
            }
        }
    }

    fn diverged(&self, cost: f64) -> Error {
        Error::Diverged {
            iteration: self.iteration,
            learning_rate: self.hyper.learning_rate(),
            cost,
        }
    }

    /// Ends training (wherever it stands): computes the final cost, materialises the weights and
    /// returns the fitted model.
    pub fn finish(self) -> Result<Trained> {
        let (_, final_cost) = self.forward(true);
        if !final_cost.is_finite() {
            return Err(self.diverged(final_cost));
        }
        let mut costs = self.costs;
        if costs.last().map(|c| c.0) != Some(self.iteration) {
            costs.push((self.iteration, final_cost));
        }
        let mut weights = vec![self.first.into_weights()];
        weights.extend(self.rest);
        let biases = self
            .biases
            .into_iter()
            .map(|b| b.column(0).to_owned())
            .collect();
        let network = Network::from_parts(weights, biases).map_err(|_| Error::Diverged {
            iteration: self.iteration,
            learning_rate: self.hyper.learning_rate(),
            cost: final_cost,
        })?;
        Ok(Trained {
            network,
            hyperparams: self.hyper,
            report: TrainReport {
                costs,
                final_cost,
                iterations_run: self.iteration,
            },
        })
    }
}

impl Hyperparams {
    /// Trains on `x` (an `(n_x, m)` matrix, one example per column, or [`Inputs::pixels`]) and
    /// labels `y` (m values, 0 or 1),
    /// calling `progress` with the cost at iteration 0, every `report_every` iterations and once
    /// at the end (final weights); returning [`ControlFlow::Break`] stops training early,
    /// keeping the weights so far.
    pub fn fit(
        &self,
        x: impl Into<Inputs>,
        y: &[u8],
        mut progress: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Trained> {
        let mut trainer = Trainer::new(self.clone(), x, y)?;
        while !trainer.is_done() {
            trainer.step_to_next_report()?;
            if let Some(p) = trainer.progress() {
                if progress(&p).is_break() {
                    break;
                }
            }
        }
        let trained = trainer.finish()?;
        let _ = progress(&Progress {
            iteration: trained.report.iterations_run,
            iterations: self.iterations(),
            cost: trained.report.final_cost,
        });
        Ok(trained)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_other_than_0_or_1_is_refused_with_its_index() {
        let hyper = Hyperparams::builder().iterations(1).build();
        let x = Array2::<f64>::zeros((2, 4));
        let result = hyper.and_then(|h| Trainer::new(h, x, &[0, 1, 1, 2]));
        match result {
            Err(Error::InvalidLabel {
                index: 3,
                label: 2,
                classes: 2,
            }) => {}
            other => panic!("expected the label at index 3 refused, got {other:?}"),
        }
    }

    /// Trains logistic regression on made-up pixels twice, recording the cost every 7
    /// iterations: on the general path only, then with the fast path (which takes every
    /// iteration but, with an L2 penalty, those that record a cost). Returns both trainings'
    /// weights, biases, recorded costs and final cost as bits.
    fn both_paths(learning_rate: f64, l2: f64, iterations: usize) -> [Result<Vec<u64>>; 2] {
        let (m, n_x) = (23, 37);
        // A fixed pseudo-random byte pattern: any images do.
        let bytes: Vec<u8> = (0..m * n_x)
            .map(|i| ((i * 7919 + 13) % 256) as u8)
            .collect();
        let y: Vec<u8> = (0..m).map(|i| u8::from(i % 3 == 0)).collect();
        [false, true].map(|fast_path| {
            let hyper = Hyperparams::builder()
                .iterations(iterations)
                .learning_rate(learning_rate)
                .l2(l2)
                .report_every(7)
                .build()?;
            let mut trainer = Trainer::new(hyper, Inputs::pixels(bytes.clone(), n_x)?, &y)?;
            trainer.fast_path = fast_path;
            trainer.step(iterations)?;
            let trained = trainer.finish()?;
            let net = &trained.network;
            let mut bits: Vec<u64> = net.weights()[0].iter().map(|v| v.to_bits()).collect();
            bits.extend(net.biases()[0].iter().map(|v| v.to_bits()));
            for &(iteration, cost) in &trained.report.costs {
                bits.extend([iteration as u64, cost.to_bits()]);
            }
            bits.push(trained.report.final_cost.to_bits());
            Ok(bits)
        })
    }

    #[test]
    fn the_logistic_fast_path_gives_the_general_paths_bits() {
        // The defaults, an L2 penalty (weights decay), and the largest learning rate (logits far
        // out in the sigmoid's flat tails).
        for (lr, l2) in [(0.005, 0.0), (0.01, 0.7), (1e4, 0.0)] {
            let [general, fast] = both_paths(lr, l2, 300);
            let (general, fast) = (general.expect("general"), fast.expect("fast"));
            // 37 weights, a bias, 44 recorded costs (iterations 0, 7, ..., 294, and 300) of
            // two values each, the final cost.
            assert_eq!(general.len(), 37 + 1 + 2 * 44 + 1);
            assert_eq!(general, fast, "learning rate {lr}, l2 {l2}");
        }
    }
}
