//! Logistic regression exactly as the classic exercise builds it, one step per function, so a
//! learner can map the notebook onto this file:
//!
//! | notebook | here |
//! |---|---|
//! | `sigmoid(z)` | [`sigmoid`] |
//! | `initialize_with_zeros(dim)` | [`initialize_with_zeros`] |
//! | `propagate(w, b, X, Y)` | [`propagate`] |
//! | `optimize(w, b, X, Y, num_iterations, learning_rate)` | [`optimize`] |
//! | `predict(w, b, X)` | [`predict`] |
//!
//! Shapes follow the notebook: `w` is `(n_x, 1)`, `X` is `(n_x, m)` with one example per column,
//! `Y` is `(1, m)`. The one departure is the cost, computed from the logits with a numerically
//! stable log-sigmoid ([`log_sigmoid`]) so that it stays finite where `log(sigmoid(z))` would
//! give `-inf`. The production trainer is the `network` module: logistic regression is the network
//! with no hidden layer, and a test checks both give the same weights.

use ndarray::{Array2, ArrayView2};

use crate::{math, Error, Result};

/// The logistic function `1 / (1 + e^-z)`, in (0, 1), evaluated without overflow for any `z`.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + math::exp(-z))
    } else {
        let e = math::exp(z);
        e / (1.0 + e)
    }
}

/// `log(sigmoid(z)) = -log(1 + e^-z)`, finite for every finite `z`.
///
/// Computed as `min(z, 0) - log1p(e^-|z|)`, the stable form given by F. Pedregosa, "Notes on
/// computing the logistic loss" (2019, <https://fa.bianp.net/blog/2019/evaluate_logistic/>) and
/// M. Mächler, "Accurately computing log(1 - exp(-|a|))" (Rmpfr vignette, 2012).
pub fn log_sigmoid(z: f64) -> f64 {
    z.min(0.0) - math::ln_1p(math::exp(-z.abs()))
}

/// Cross-entropy of one example from its logit `z` and label `y` in {0, 1}:
/// `-(y log σ(z) + (1 - y) log(1 - σ(z)))`, using `log(1 - σ(z)) = log σ(-z)`.
///
/// `log σ(z)` and `log σ(-z)` share their `log1p(e^-|z|)`, computed once: the same bits as two
/// [`log_sigmoid`] calls for half the transcendental work (the cost of every reported iteration
/// of a training goes through here, m times).
pub fn cross_entropy_from_logit(z: f64, y: f64) -> f64 {
    let shared = math::ln_1p(math::exp(-z.abs()));
    -(y * (z.min(0.0) - shared) + (1.0 - y) * ((-z).min(0.0) - shared))
}

/// The mean of [`cross_entropy_from_logit`] over pairs of logits `z` and labels `y`, summed in
/// their order from 0 (NaN for no pairs). Every cost of a training is this one sum: a trainer's
/// in-place and general paths agree to the bit because both call it.
pub fn mean_cross_entropy<'a>(
    z: impl IntoIterator<Item = &'a f64>,
    y: impl IntoIterator<Item = &'a f64>,
) -> f64 {
    let (sum, n) = z
        .into_iter()
        .zip(y)
        .fold((0.0, 0usize), |(acc, n), (&z, &y)| {
            (acc + cross_entropy_from_logit(z, y), n + 1)
        });
    sum / n as f64
}

/// `w = zeros((dim, 1))`, `b = 0`.
pub fn initialize_with_zeros(dim: usize) -> (Array2<f64>, f64) {
    (Array2::zeros((dim, 1)), 0.0)
}

/// Gradients of the cost: `dw` has the shape of `w`, `db` is a scalar.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    pub dw: Array2<f64>,
    pub db: f64,
}

fn check_shapes(
    w: &ArrayView2<f64>,
    x: &ArrayView2<f64>,
    y: Option<&ArrayView2<f64>>,
) -> Result<()> {
    if w.ncols() != 1 || w.nrows() != x.nrows() {
        return Err(Error::Shape(format!(
            "w is {:?} and X is {:?}: w must be (n_x, 1) with n_x = X's rows",
            w.dim(),
            x.dim()
        )));
    }
    if let Some(y) = y {
        if y.dim() != (1, x.ncols()) {
            return Err(Error::Shape(format!(
                "Y is {:?}, expected (1, {}) for X of {:?}",
                y.dim(),
                x.ncols(),
                x.dim()
            )));
        }
    }
    if x.ncols() == 0 {
        return Err(Error::Shape("X has no example (0 columns)".into()));
    }
    Ok(())
}

/// Forward and backward propagation: returns the gradients and the cost
/// `J = -1/m Σ (y log a + (1-y) log(1-a))` with `A = σ(wᵀX + b)`.
pub fn propagate(
    w: ArrayView2<f64>,
    b: f64,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
) -> Result<(Grads, f64)> {
    check_shapes(&w, &x, Some(&y))?;
    let m = x.ncols() as f64;
    // Forward: Z = wᵀX + b (1, m); A = σ(Z).
    let z = w.t().dot(&x) + b;
    let a = z.mapv(sigmoid);
    let cost = mean_cross_entropy(&z, y);
    // Backward: dw = X (A - Y)ᵀ / m, db = Σ(A - Y) / m.
    let dz = &a - &y;
    let dw = x.dot(&dz.t()) / m;
    let db = dz.sum() / m;
    Ok((Grads { dw, db }, cost))
}

/// What [`optimize`] returns: the learned `w`, `b`, the gradients of the last iteration (taken
/// before its update, as in the notebook) and the cost every 100 iterations.
#[derive(Clone, Debug)]
pub struct Optimized {
    pub w: Array2<f64>,
    pub b: f64,
    pub grads: Grads,
    pub costs: Vec<f64>,
}

/// `num_iterations` steps of gradient descent: `w -= learning_rate * dw`, `b -= learning_rate * db`.
/// Records the cost at iterations 0, 100, 200, ... Fails with [`Error::Diverged`] when the cost
/// or the weights stop being finite.
pub fn optimize(
    w: ArrayView2<f64>,
    b: f64,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    num_iterations: usize,
    learning_rate: f64,
) -> Result<Optimized> {
    let mut w = w.to_owned();
    let mut b = b;
    let mut costs = Vec::new();
    let (mut grads, _) = propagate(w.view(), b, x, y)?;
    for i in 0..num_iterations {
        let (g, cost) = propagate(w.view(), b, x, y)?;
        if !cost.is_finite() || !g.db.is_finite() {
            return Err(Error::Diverged {
                iteration: i,
                learning_rate,
                cost,
            });
        }
        w.scaled_add(-learning_rate, &g.dw);
        b -= learning_rate * g.db;
        if i % 100 == 0 {
            costs.push(cost);
        }
        grads = g;
    }
    Ok(Optimized { w, b, grads, costs })
}

/// Predicts 0/1 labels `(1, m)`: 1 where `σ(wᵀX + b) > 0.5`.
pub fn predict(w: ArrayView2<f64>, b: f64, x: ArrayView2<f64>) -> Result<Array2<f64>> {
    check_shapes(&w, &x, None)?;
    let z = w.t().dot(&x) + b;
    Ok(z.mapv(|z| if sigmoid(z) > 0.5 { 1.0 } else { 0.0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared form gives the very bits of the two-call form, at every kind of logit.
    #[test]
    fn cross_entropy_shares_its_log1p_and_keeps_its_bits() {
        let two_calls = |z: f64, y: f64| -(y * log_sigmoid(z) + (1.0 - y) * log_sigmoid(-z));
        let zs = [
            0.0,
            -0.0,
            1e-300,
            -1e-12,
            0.3,
            -2.5,
            17.0,
            -40.0,
            745.0,
            -800.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for z in zs {
            for y in [0.0, 1.0, 0.25] {
                let (a, b) = (cross_entropy_from_logit(z, y), two_calls(z, y));
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "z {z} y {y}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn log_sigmoid_is_finite_and_accurate_in_the_tails() {
        assert_eq!(log_sigmoid(0.0), -(2f64.ln()));
        // For large negative z, log σ(z) ≈ z; the naive form gives -inf.
        assert_eq!(log_sigmoid(-1000.0), -1000.0);
        assert!((sigmoid(-1000.0)).ln().is_infinite());
        // For large positive z, log σ(z) ≈ -e^-z.
        let z = 40.0;
        assert!((log_sigmoid(z) + (-z).exp()).abs() < 1e-30);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
    }
}
