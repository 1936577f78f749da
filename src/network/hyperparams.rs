//! Checked hyper-parameters: the builder checks every value once, so training never sees a
//! value outside its documented range.

use serde::{Deserialize, Serialize};

use crate::check;
use crate::{Error, Result};

/// Default number of iterations (the classic exercise's logistic regression).
pub const DEFAULT_ITERATIONS: usize = 2000;
/// Default learning rate (the classic exercise's logistic regression).
pub const DEFAULT_LEARNING_RATE: f64 = 0.005;
/// Default seed of the initial weights (the classic notebook's `np.random.seed(1)`).
pub const DEFAULT_SEED: u32 = 1;
/// Default number of iterations between two progress reports.
pub const DEFAULT_REPORT_EVERY: usize = 100;
/// Most hidden layers accepted.
pub const MAX_HIDDEN_LAYERS: usize = 8;
/// Most units in one hidden layer.
pub const MAX_UNITS: usize = 4096;
/// Most iterations accepted.
pub const MAX_ITERATIONS: usize = 1_000_000;

/// How the iterations are computed; both give the same weights up to rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Iterate on the `m x m` Gram matrix (see the module docs). Default.
    #[default]
    Gram,
    /// The textbook algorithm on the full input matrix.
    Direct,
}

/// Checked hyper-parameters. Build them with [`Hyperparams::builder`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hyperparams {
    hidden: Vec<usize>,
    iterations: usize,
    learning_rate: f64,
    l2: f64,
    seed: u32,
    report_every: usize,
    solver: Solver,
}

/// Unchecked hyper-parameters; [`HyperparamsBuilder::build`] checks them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HyperparamsBuilder {
    /// Hidden layer sizes, input side first; empty (default) = logistic regression.
    /// At most [`MAX_HIDDEN_LAYERS`] layers of 1..=[`MAX_UNITS`] units.
    pub hidden: Vec<usize>,
    /// Gradient-descent iterations, 1..=[`MAX_ITERATIONS`]; default [`DEFAULT_ITERATIONS`].
    pub iterations: usize,
    /// Step size, finite and in (0, 1e4]; default [`DEFAULT_LEARNING_RATE`].
    pub learning_rate: f64,
    /// L2 penalty λ: the cost gains `λ/(2m) Σ‖W‖²`; finite, >= 0; default 0.
    pub l2: f64,
    /// Seed of the initial weights (numpy-compatible stream); default [`DEFAULT_SEED`].
    pub seed: u32,
    /// Iterations between progress reports, >= 1; default [`DEFAULT_REPORT_EVERY`].
    pub report_every: usize,
    /// Default [`Solver::Gram`].
    pub solver: Solver,
}

impl Default for HyperparamsBuilder {
    fn default() -> Self {
        HyperparamsBuilder {
            hidden: Vec::new(),
            iterations: DEFAULT_ITERATIONS,
            learning_rate: DEFAULT_LEARNING_RATE,
            l2: 0.0,
            seed: DEFAULT_SEED,
            report_every: DEFAULT_REPORT_EVERY,
            solver: Solver::Gram,
        }
    }
}

impl HyperparamsBuilder {
    /// Hidden layer sizes (empty = logistic regression).
    pub fn hidden(mut self, hidden: impl Into<Vec<usize>>) -> Self {
        self.hidden = hidden.into();
        self
    }
    /// Number of gradient-descent iterations.
    pub fn iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }
    /// Learning rate.
    pub fn learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }
    /// L2 penalty.
    pub fn l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }
    /// Seed of the initial weights.
    pub fn seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }
    /// Iterations between progress reports.
    pub fn report_every(mut self, report_every: usize) -> Self {
        self.report_every = report_every;
        self
    }
    /// Solver.
    pub fn solver(mut self, solver: Solver) -> Self {
        self.solver = solver;
        self
    }

    /// Checks every value against its documented range.
    pub fn build(self) -> Result<Hyperparams> {
        // The message shows the whole list, not the one count or size that is wrong.
        let whole_list = |e| match e {
            Error::InvalidParameter { name, expected, .. } => Error::InvalidParameter {
                name,
                value: format!("{:?}", self.hidden),
                expected,
            },
            e => e,
        };
        check::int_in(
            "hidden",
            self.hidden.len(),
            0,
            MAX_HIDDEN_LAYERS,
            "at most 8 hidden layers",
        )
        .map_err(whole_list)?;
        for &units in &self.hidden {
            check::int_in(
                "hidden",
                units,
                1,
                MAX_UNITS,
                "every hidden layer needs 1 to 4096 units",
            )
            .map_err(whole_list)?;
        }
        let iterations = check::int_in(
            "iterations",
            self.iterations,
            1,
            MAX_ITERATIONS,
            "an integer from 1 to 1000000",
        )?;
        let learning_rate = check::real(
            "learning_rate",
            self.learning_rate,
            |lr| lr > 0.0 && lr <= 1e4,
            "a number in (0, 10000]",
        )?;
        let l2 = check::real("l2", self.l2, |l2| l2 >= 0.0, "a finite number >= 0")?;
        let report_every = check::int_in(
            "report_every",
            self.report_every,
            1,
            usize::MAX,
            "an integer >= 1",
        )?;
        Ok(Hyperparams {
            hidden: self.hidden,
            iterations,
            learning_rate,
            l2,
            seed: self.seed,
            report_every,
            solver: self.solver,
        })
    }
}

impl<'de> Deserialize<'de> for Hyperparams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        HyperparamsBuilder::deserialize(d)?
            .build()
            .map_err(serde::de::Error::custom)
    }
}

impl Hyperparams {
    /// Starts from the documented defaults.
    pub fn builder() -> HyperparamsBuilder {
        HyperparamsBuilder::default()
    }
    /// Back to a builder, to change a value and check again.
    pub fn to_builder(&self) -> HyperparamsBuilder {
        HyperparamsBuilder {
            hidden: self.hidden.clone(),
            iterations: self.iterations,
            learning_rate: self.learning_rate,
            l2: self.l2,
            seed: self.seed,
            report_every: self.report_every,
            solver: self.solver,
        }
    }
    pub fn hidden(&self) -> &[usize] {
        &self.hidden
    }
    pub fn iterations(&self) -> usize {
        self.iterations
    }
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    pub fn l2(&self) -> f64 {
        self.l2
    }
    pub fn seed(&self) -> u32 {
        self.seed
    }
    pub fn report_every(&self) -> usize {
        self.report_every
    }
    pub fn solver(&self) -> Solver {
        self.solver
    }

    /// Layer sizes `[n_x, hidden..., 1]` for inputs of `n_x` features.
    pub fn dims(&self, n_x: usize) -> Vec<usize> {
        let mut dims = vec![n_x];
        dims.extend_from_slice(&self.hidden);
        dims.push(1);
        dims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts are those the builder gave before its checks went through `check` (copied from
    /// that code): the CLI and the page show them as they are.
    #[test]
    fn a_refusal_names_the_value_and_the_range() {
        let b = Hyperparams::builder;
        for (result, message) in [
            (
                b().hidden(vec![1; 9]).build(),
                "hidden = [1, 1, 1, 1, 1, 1, 1, 1, 1]: at most 8 hidden layers",
            ),
            (
                b().hidden(vec![20, 0, 5]).build(),
                "hidden = [20, 0, 5]: every hidden layer needs 1 to 4096 units",
            ),
            (
                b().hidden(vec![4097]).build(),
                "hidden = [4097]: every hidden layer needs 1 to 4096 units",
            ),
            (
                b().iterations(1_000_001).build(),
                "iterations = 1000001: an integer from 1 to 1000000",
            ),
            (
                b().learning_rate(10000.5).build(),
                "learning_rate = 10000.5: a number in (0, 10000]",
            ),
            (
                b().learning_rate(f64::INFINITY).build(),
                "learning_rate = inf: a number in (0, 10000]",
            ),
            (b().l2(f64::NAN).build(), "l2 = NaN: a finite number >= 0"),
            (
                b().report_every(0).build(),
                "report_every = 0: an integer >= 1",
            ),
        ] {
            let got = result.err().map(|e| e.to_string());
            assert_eq!(
                got.as_deref(),
                Some(format!("invalid hyper-parameter {message}").as_str())
            );
        }
    }

    #[test]
    fn the_limits_themselves_are_accepted() {
        let h = Hyperparams::builder()
            .hidden(vec![MAX_UNITS; MAX_HIDDEN_LAYERS])
            .iterations(MAX_ITERATIONS)
            .learning_rate(1e4)
            .l2(0.0)
            .report_every(1)
            .build();
        assert!(h.is_ok(), "{h:?}");
        assert!(Hyperparams::builder()
            .hidden(vec![1])
            .iterations(1)
            .build()
            .is_ok());
    }
}
