//! L-layer networks: ReLU hidden layers, a sigmoid output, cross-entropy cost, full-batch
//! gradient descent with an optional L2 penalty. Logistic regression is the network with no
//! hidden layer (and zero initial weights, as in the classic exercise).
//!
//! Use: [`Hyperparams::builder`] -> [`HyperparamsBuilder::build`] (checked) ->
//! [`Hyperparams::fit`] (or a resumable [`Trainer`]) -> a fitted [`Network`] that predicts. An
//! untrained model cannot predict: there is no way to get a [`Network`] except by training or by
//! loading a validated file.
//!
//! ## Two exact solvers
//! [`Solver::Direct`] is the textbook algorithm: every iteration multiplies the first layer's
//! weights `W1` `(n1, n_x)` with the inputs `X` `(n_x, m)`.
//!
//! [`Solver::Gram`] (default) gives the same iterates with less work. With full-batch gradient
//! descent the update of `W1` is `W1 <- (1 - αλ/m) W1 - (α/m) dZ1 Xᵀ`, so at every step
//! `W1 = s W1_init + C Xᵀ` for a scalar `s` and a matrix `C` `(n1, m)`. Then
//! `W1 X = s (W1_init X) + C (XᵀX)`: the iterations run on the `m x m` Gram matrix
//! `K = XᵀX` and on `P = W1_init X`, computed once, instead of on `n_x`-long rows. `W1` is
//! materialised once at the end. The identity holds for plain gradient descent with L2 decay; a
//! per-coordinate optimiser (Adam) would break it.

use std::ops::ControlFlow;

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};
use serde::{Deserialize, Serialize};

use crate::kernels::{self, Panels};
use crate::logistic::{cross_entropy_from_logit, sigmoid};
use crate::rng::NumpyRandn;
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
        let bad = |name, value: String, expected| {
            Err(Error::InvalidParameter {
                name,
                value,
                expected,
            })
        };
        if self.hidden.len() > MAX_HIDDEN_LAYERS {
            return bad(
                "hidden",
                format!("{:?}", self.hidden),
                "at most 8 hidden layers",
            );
        }
        if self.hidden.iter().any(|&n| n == 0 || n > MAX_UNITS) {
            return bad(
                "hidden",
                format!("{:?}", self.hidden),
                "every hidden layer needs 1 to 4096 units",
            );
        }
        if self.iterations == 0 || self.iterations > MAX_ITERATIONS {
            return bad(
                "iterations",
                self.iterations.to_string(),
                "an integer from 1 to 1000000",
            );
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1e4)
        {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "a number in (0, 10000]",
            );
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", self.l2.to_string(), "a finite number >= 0");
        }
        if self.report_every == 0 {
            return bad("report_every", "0".into(), "an integer >= 1");
        }
        Ok(Hyperparams {
            hidden: self.hidden,
            iterations: self.iterations,
            learning_rate: self.learning_rate,
            l2: self.l2,
            seed: self.seed,
            report_every: self.report_every,
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
            trainer.step(trainer.next_report() - trainer.iteration())?;
            if let Some(p) = trainer.progress() {
                if progress(&p).is_break() {
                    break;
                }
            }
        }
        let trained = trainer.finish()?;
        let _ = progress(&Progress {
            iteration: trained.report.iterations_run,
            iterations: self.iterations,
            cost: trained.report.final_cost,
        });
        Ok(trained)
    }
}

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

/// A fitted network: `weights[l]` is `(dims[l+1], dims[l])`, `biases[l]` has `dims[l+1]` values.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    dims: Vec<usize>,
    weights: Vec<Array2<f64>>,
    biases: Vec<Array1<f64>>,
}

impl Network {
    /// Builds a network from its parameters, checking shapes and that every value is finite
    /// (used when loading a file).
    pub fn from_parts(weights: Vec<Array2<f64>>, biases: Vec<Array1<f64>>) -> Result<Self> {
        if weights.is_empty() || weights.len() != biases.len() {
            return Err(Error::InvalidModel(format!(
                "{} weight matrices and {} bias vectors: expected the same number, at least 1",
                weights.len(),
                biases.len()
            )));
        }
        let mut dims = vec![weights[0].ncols()];
        for (l, (w, b)) in weights.iter().zip(&biases).enumerate() {
            let prev = dims[l];
            if w.ncols() != prev || w.nrows() == 0 || b.len() != w.nrows() {
                return Err(Error::InvalidModel(format!(
                    "layer {}: W is {:?} and b has {} values after a layer of {prev}",
                    l + 1,
                    w.dim(),
                    b.len()
                )));
            }
            if w.iter().chain(b.iter()).any(|v| !v.is_finite()) {
                return Err(Error::InvalidModel(format!(
                    "layer {} holds a value that is not a finite number",
                    l + 1
                )));
            }
            dims.push(w.nrows());
        }
        if dims.last() != Some(&1) {
            return Err(Error::InvalidModel(format!(
                "the output layer has {} units, expected 1",
                dims.last().copied().unwrap_or(0)
            )));
        }
        Ok(Network {
            dims,
            weights,
            biases,
        })
    }

    /// Layer sizes `[n_x, hidden..., 1]`.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    /// `weights[l]` is `(dims[l+1], dims[l])`.
    pub fn weights(&self) -> &[Array2<f64>] {
        &self.weights
    }
    /// `biases[l]` has `dims[l+1]` values.
    pub fn biases(&self) -> &[Array1<f64>] {
        &self.biases
    }

    fn check_input(&self, x: &ArrayView2<f64>) -> Result<()> {
        if x.nrows() != self.dims[0] {
            return Err(Error::Shape(format!(
                "the model takes {} features per example, got {}",
                self.dims[0],
                x.nrows()
            )));
        }
        Ok(())
    }

    /// Output logits `z` `(m,)` for `x` `(n_x, m)`; `P(cat) = sigmoid(z)`.
    pub fn logits(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        self.check_input(&x)?;
        Ok(self.head(self.weights[0].dot(&x)))
    }

    /// Output logits `z` `(m,)` for `m` images of `n_x` bytes each, one after the other (the
    /// model sees `byte / 255`). This is the path training and the apps use: the first layer
    /// runs on the bytes with the fast kernels.
    pub fn logits_pixels(&self, pixels: &[u8]) -> Result<Array1<f64>> {
        let n_x = self.dims[0];
        if pixels.len() % n_x != 0 {
            return Err(Error::Shape(format!(
                "{} bytes are not a whole number of {n_x}-byte images",
                pixels.len()
            )));
        }
        Ok(self.head(project_pixels(pixels, n_x, &self.weights[0])))
    }

    /// Layers after the first product `W1 X`: bias, ReLU, ..., output logits.
    fn head(&self, z1: Array2<f64>) -> Array1<f64> {
        let last = self.weights.len() - 1;
        let mut a = z1;
        for (l, b) in self.biases.iter().enumerate() {
            if l > 0 {
                a = self.weights[l].dot(&a);
            }
            a += &b.view().insert_axis(Axis(1));
            if l < last {
                a.mapv_inplace(relu);
            }
        }
        a.row(0).to_owned()
    }

    /// Fraction of the images (bytes, see [`Network::logits_pixels`]) whose predicted label
    /// equals `y`, in [0, 1].
    pub fn accuracy_pixels(&self, pixels: &[u8], y: &[u8]) -> Result<f64> {
        fraction_right(&self.logits_pixels(pixels)?, y)
    }

    /// Probability of "cat" for each column of `x` `(n_x, m)`, in [0, 1].
    pub fn predict_proba(&self, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(self.logits(x)?.mapv(sigmoid))
    }

    /// Labels 0/1 (1 where the probability of "cat" is > 0.5).
    pub fn predict(&self, x: ArrayView2<f64>) -> Result<Vec<u8>> {
        Ok(self
            .logits(x)?
            .iter()
            .map(|&z| u8::from(sigmoid(z) > 0.5))
            .collect())
    }

    /// Fraction of `x`'s examples whose predicted label equals `y`, in [0, 1].
    pub fn accuracy(&self, x: ArrayView2<f64>, y: &[u8]) -> Result<f64> {
        fraction_right(&self.logits(x)?, y)
    }
}

/// Fraction of logits `z` whose label (1 where `sigmoid(z) > 0.5`) equals `y`; 0 when empty.
pub(crate) fn fraction_right(z: &Array1<f64>, y: &[u8]) -> Result<f64> {
    if z.len() != y.len() {
        return Err(Error::Shape(format!(
            "{} examples and {} labels",
            z.len(),
            y.len()
        )));
    }
    if y.is_empty() {
        return Ok(0.0);
    }
    let right = z
        .iter()
        .zip(y)
        .filter(|(&z, &y)| u8::from(sigmoid(z) > 0.5) == y)
        .count();
    Ok(right as f64 / y.len() as f64)
}

fn relu(z: f64) -> f64 {
    z.max(0.0)
}

/// Training inputs: `m` examples of `n_x` features (the model's `X` is `(n_x, m)`).
#[derive(Clone, Debug)]
pub enum Inputs {
    /// Real-valued features, one example per row: `(m, n_x)` row-major.
    Examples(Array2<f64>),
    /// `m` images of `n_x` bytes each, one after the other; the model sees `byte / 255`.
    Pixels { bytes: Vec<u8>, n_x: usize },
}

impl From<Array2<f64>> for Inputs {
    /// From the model's `X` `(n_x, m)`, one example per column.
    fn from(x: Array2<f64>) -> Self {
        Inputs::Examples(x.reversed_axes().as_standard_layout().into_owned())
    }
}

impl Inputs {
    /// `m` images of `n_x` bytes, image after image (e.g. a dataset split's pixels with
    /// `n_x = 12288`). Kept as bytes: 8 times smaller than `f64` features.
    pub fn pixels(bytes: Vec<u8>, n_x: usize) -> Result<Self> {
        if n_x == 0 || bytes.len() % n_x != 0 {
            return Err(Error::Shape(format!(
                "{} bytes are not a whole number of {n_x}-byte images",
                bytes.len()
            )));
        }
        Ok(Inputs::Pixels { bytes, n_x })
    }

    /// `(n_x, m)`: features, examples.
    pub fn dim(&self) -> (usize, usize) {
        match self {
            Inputs::Examples(xt) => (xt.ncols(), xt.nrows()),
            Inputs::Pixels { bytes, n_x } => (*n_x, bytes.len() / n_x),
        }
    }

    /// Calls `f(j, example_j)` for every example, as `f64` features.
    fn for_each_example(&self, mut f: impl FnMut(usize, &[f64])) {
        match self {
            Inputs::Examples(xt) => {
                for (j, row) in xt.outer_iter().enumerate() {
                    f(j, row.as_slice().unwrap_or(&row.to_vec()));
                }
            }
            Inputs::Pixels { bytes, n_x } => {
                let mut buf = vec![0.0; *n_x];
                for (j, image) in bytes.chunks_exact(*n_x).enumerate() {
                    kernels::unit_scale(image, &mut buf);
                    f(j, &buf);
                }
            }
        }
    }

    /// The model's `X` `(n_x, m)` (row-major), for the textbook solver.
    fn to_matrix(&self) -> Array2<f64> {
        let (n_x, m) = self.dim();
        let mut x = Array2::zeros((n_x, m));
        self.for_each_example(|j, e| x.column_mut(j).assign(&ndarray::aview1(e)));
        x
    }

    /// `K = XᵀX` `(m, m)`, stored for products. From bytes it is exact integer arithmetic,
    /// scaled once by 1/255².
    fn gram(&self) -> Panels {
        let (_, m) = self.dim();
        let k = match self {
            Inputs::Pixels { bytes, n_x } => kernels::gram_u8(bytes, *n_x)
                .into_iter()
                .map(|v| f64::from(v) / 65025.0)
                .collect(),
            Inputs::Examples(xt) => {
                let mut k = vec![0.0; m * m];
                for i in 0..m {
                    for j in i..m {
                        let v = kernels::dot(row(xt, i), row(xt, j));
                        k[i * m + j] = v;
                        k[j * m + i] = v;
                    }
                }
                k
            }
        };
        Panels::new(&k, m, m)
    }

    /// `W X` `(r, m)` for `w` `(r, n_x)`.
    fn project(&self, w: &Array2<f64>) -> Array2<f64> {
        if let Inputs::Pixels { bytes, n_x } = self {
            return project_pixels(bytes, *n_x, w);
        }
        let w = w.as_standard_layout();
        let mut out = Array2::zeros((w.nrows(), self.dim().1));
        self.for_each_example(|j, e| {
            for (r, w_r) in w.outer_iter().enumerate() {
                out[[r, j]] = kernels::dot(w_r.as_slice().unwrap_or(&[]), e);
            }
        });
        out
    }

    /// `C Xᵀ` `(r, n_x)` for `c` `(r, m)`.
    fn back_project(&self, c: &Array2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros((c.nrows(), self.dim().0));
        self.for_each_example(|j, e| {
            for (r, mut out_r) in out.outer_iter_mut().enumerate() {
                out_r.scaled_add(c[[r, j]], &ndarray::aview1(e));
            }
        });
        out
    }
}

/// `W X` `(r, m)` for `w` `(r, n_x)` and `m` images of `n_x` bytes (`X` = bytes / 255).
fn project_pixels(bytes: &[u8], n_x: usize, w: &Array2<f64>) -> Array2<f64> {
    let w = w.as_standard_layout();
    let m = bytes.len().checked_div(n_x).unwrap_or(0);
    let r = w.nrows();
    let mut out = Array2::zeros((r, m));
    let (mut buf0, mut buf1) = (vec![0.0; n_x], vec![0.0; n_x]);
    let w_row = |i: usize| w.row(i).to_slice().unwrap_or(&[]);
    // Two images against two weight rows per kernel call: all four products are used (a last
    // odd image or row pairs with itself). Each equals `kernels::dot` bit for bit.
    for j in (0..m).step_by(2) {
        let j1 = (j + 1).min(m - 1);
        kernels::unit_scale(&bytes[j * n_x..(j + 1) * n_x], &mut buf0);
        kernels::unit_scale(&bytes[j1 * n_x..(j1 + 1) * n_x], &mut buf1);
        for i in (0..r).step_by(2) {
            let i1 = (i + 1).min(r - 1);
            let d = kernels::dot_2x2(w_row(i), w_row(i1), &buf0, &buf1);
            out[[i, j]] = d[0];
            out[[i, j1]] = d[1];
            out[[i1, j]] = d[2];
            out[[i1, j1]] = d[3];
        }
    }
    out
}

/// Row `i` of a row-major matrix as a slice.
fn row(a: &Array2<f64>, i: usize) -> &[f64] {
    let n = a.ncols();
    a.as_slice().map_or(&[][..], |s| &s[i * n..(i + 1) * n])
}

/// `A B` with [`kernels::matmul`]'s platform-independent rounding.
fn times(a: &Array2<f64>, b: &Panels) -> Array2<f64> {
    let a = a.as_standard_layout();
    let (r, n) = (a.nrows(), b.dim().1);
    let out = kernels::matmul(a.as_slice().unwrap_or(&[]), b, r);
    Array2::from_shape_vec((r, n), out).unwrap_or_else(|_| Array2::zeros((r, n)))
}

/// The first layer's weights, in one of the two representations of [`Solver`].
// One value per trainer: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum First {
    Direct {
        w: Array2<f64>,
        /// `(n_x, m)`, row-major.
        x: Array2<f64>,
        /// `Xᵀ` `(m, n_x)`, row-major: with both, every matrix-vector product reads rows.
        xt: Array2<f64>,
    },
    Gram {
        /// `W1 = s * w0 + c Xᵀ`.
        w0: Array2<f64>,
        s: f64,
        c: Array2<f64>,
        /// `w0 X`, `(n1, m)`.
        p: Array2<f64>,
        /// `XᵀX`, `(m, m)`.
        k: Panels,
        /// `‖w0‖²`.
        w0_sq: f64,
        inputs: Inputs,
    },
}

impl First {
    /// `W1 X`, `(n1, m)`.
    fn forward(&self) -> Array2<f64> {
        match self {
            // A one-row W is a matrix-vector product: BLAS-style gemv, as numpy would do.
            First::Direct { w, xt, .. } if w.nrows() == 1 => xt.dot(&w.row(0)).insert_axis(Axis(0)),
            First::Direct { w, x, .. } => w.dot(x),
            First::Gram { s, c, p, k, .. } => {
                let mut z = times(c, k);
                z.scaled_add(*s, p);
                z
            }
        }
    }

    /// `‖W1‖²` (only needed for the L2 term).
    fn sq_norm(&self) -> f64 {
        match self {
            First::Direct { w, .. } => w.iter().map(|v| v * v).sum(),
            First::Gram {
                s, c, p, k, w0_sq, ..
            } => {
                // ‖s w0 + C Xᵀ‖² = s²‖w0‖² + 2s <C, w0 X> + <C, C XᵀX>
                let ck = times(c, k);
                s * s * w0_sq + 2.0 * s * (c * p).sum() + (c * &ck).sum()
            }
        }
    }

    /// `W1 <- decay W1 - step dZ1 Xᵀ`.
    fn update(&mut self, dz: &Array2<f64>, decay: f64, step: f64) {
        match self {
            First::Direct { w, x, xt } => {
                let g = if dz.nrows() == 1 {
                    x.dot(&dz.row(0)).insert_axis(Axis(0))
                } else {
                    dz.dot(xt)
                };
                w.mapv_inplace(|v| v * decay);
                w.scaled_add(-step, &g);
            }
            First::Gram { s, c, .. } => {
                *s *= decay;
                c.mapv_inplace(|v| v * decay);
                c.scaled_add(-step, dz);
            }
        }
    }

    fn into_weights(self) -> Array2<f64> {
        match self {
            First::Direct { w, .. } => w,
            First::Gram {
                w0, s, c, inputs, ..
            } => {
                let mut w = inputs.back_project(&c);
                w.scaled_add(s, &w0);
                w
            }
        }
    }
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
        if let Some(bad) = y.iter().find(|&&l| l > 1) {
            return Err(Error::InvalidDataset(format!(
                "label {bad}: labels must be 0 or 1"
            )));
        }
        if let Inputs::Examples(xt) = &inputs {
            if xt.iter().any(|v| !v.is_finite()) {
                return Err(Error::Shape("X holds a value that is not finite".into()));
            }
        }
        let dims = hyper.dims(n_x);
        let mut weights: Vec<Array2<f64>> = if dims.len() == 2 {
            vec![Array2::zeros((1, n_x))]
        } else {
            let mut rng = NumpyRandn::new(hyper.seed);
            dims.windows(2)
                .map(|d| rng.randn_matrix(d[1], d[0]) / (d[0] as f64).sqrt())
                .collect()
        };
        let biases = dims[1..].iter().map(|&n| Array2::zeros((n, 1))).collect();
        let rest = weights.split_off(1);
        let w0 = weights.pop().unwrap_or_else(|| Array2::zeros((1, n_x)));
        let first = match hyper.solver {
            Solver::Direct => {
                let x = inputs.to_matrix();
                let xt = x.t().as_standard_layout().into_owned();
                First::Direct { w: w0, x, xt }
            }
            Solver::Gram => {
                let k = inputs.gram();
                let p = if hyper.hidden.is_empty() {
                    // Logistic regression starts at zero: w0 X is zero too.
                    Array2::zeros((1, m))
                } else {
                    inputs.project(&w0)
                };
                let w0_sq = w0.iter().map(|v| v * v).sum();
                let c = Array2::zeros((w0.nrows(), m));
                First::Gram {
                    w0,
                    s: 1.0,
                    c,
                    p,
                    k,
                    w0_sq,
                    inputs,
                }
            }
        };
        let y = Array2::from_shape_fn((1, m), |(_, j)| f64::from(y[j]));
        Ok(Trainer {
            hyper,
            y,
            first,
            biases,
            rest,
            iteration: 0,
            costs: Vec::new(),
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
        self.iteration >= self.hyper.iterations
    }

    /// The iteration at which the next progress report falls (a multiple of `report_every`,
    /// or the last iteration).
    pub fn next_report(&self) -> usize {
        let every = self.hyper.report_every;
        ((self.iteration / every + 1) * every).min(self.hyper.iterations)
    }

    /// The latest recorded cost (at a multiple of `report_every`), or `None` before any
    /// iteration has run.
    pub fn progress(&self) -> Option<Progress> {
        self.costs.last().map(|&(iteration, cost)| Progress {
            iteration,
            iterations: self.hyper.iterations,
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
        let mut cost = Zip::from(zl)
            .and(&self.y)
            .fold(0.0, |acc, &z, &y| acc + cross_entropy_from_logit(z, y))
            / m;
        if self.hyper.l2 > 0.0 {
            let sq: f64 = self.first.sq_norm()
                + self
                    .rest
                    .iter()
                    .map(|w| w.iter().map(|v| v * v).sum::<f64>())
                    .sum::<f64>();
            cost += self.hyper.l2 / (2.0 * m) * sq;
        }
        (zs, cost)
    }

    /// Runs up to `n` iterations (fewer if the plan ends first). Fails with [`Error::Diverged`]
    /// as soon as the cost stops being finite; the weights are then unusable.
    pub fn step(&mut self, n: usize) -> Result<()> {
        let m = self.y.ncols() as f64;
        let lr = self.hyper.learning_rate;
        let decay = 1.0 - lr * self.hyper.l2 / m;
        let end = (self.iteration + n).min(self.hyper.iterations);
        while self.iteration < end {
            let report = self.iteration % self.hyper.report_every == 0;
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

    fn diverged(&self, cost: f64) -> Error {
        Error::Diverged {
            iteration: self.iteration,
            learning_rate: self.hyper.learning_rate,
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
            learning_rate: self.hyper.learning_rate,
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
