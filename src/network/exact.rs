//! The first layer's weights in either exact representation of [`Solver`]: the textbook `W1`,
//! or `W1 = s W1_init + C Xᵀ` iterated on the Gram matrix (see the module docs of
//! [`crate::network`]). Both give the same iterates up to rounding.

use ndarray::{Array2, ArrayView1, Axis};

use super::{Inputs, Solver};
use crate::kernels::{self, Panels};
use crate::logistic::{mean_cross_entropy, sigmoid};

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
pub(super) enum First {
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
    /// Starts from the initial weights `w0` `(n1, n_x)`. `w0_is_zero` says that `w0` is all
    /// zeros (logistic regression), so that `w0 X` is known without computing it.
    pub(super) fn new(solver: Solver, w0: Array2<f64>, inputs: Inputs, w0_is_zero: bool) -> Self {
        let (_, m) = inputs.dim();
        match solver {
            Solver::Direct => {
                let x = inputs.to_matrix();
                let xt = x.t().as_standard_layout().into_owned();
                First::Direct { w: w0, x, xt }
            }
            Solver::Gram => {
                let k = inputs.gram();
                let p = if w0_is_zero {
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
        }
    }

    /// `W1 X`, `(n1, m)`.
    pub(super) fn forward(&self) -> Array2<f64> {
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
    pub(super) fn sq_norm(&self) -> f64 {
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
    pub(super) fn update(&mut self, dz: &Array2<f64>, decay: f64, step: f64) {
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

    /// One iteration of logistic regression (one output, no hidden layer) on the Gram
    /// representation, in place: `z = c K + s p + b` into `z` (`m` values), then, if every `z`
    /// is finite, `dz = σ(z) - y` in its place, `s <- decay s`, `c <- decay c - step dz` and
    /// `b <- b - step Σ dz`. These are the operations of the general path ([`Self::forward`],
    /// the trainer's backward pass, [`Self::update`]) in the same order, so the iterates are the
    /// same bits; the general path's one-row matrices, allocated and walked several times per
    /// iteration, took more time in WebAssembly than the product itself.
    ///
    /// Returns, like the trainer's forward pass, the cost of the weights before the update
    /// without its L2 term ([`mean_cross_entropy`], as the general path computes it) when
    /// `with_cost`, else 0; either way a value that is not finite when a `z` is not (nothing is
    /// updated then). `None` when this is not that case (the direct representation, or more
    /// than one row).
    pub(super) fn logistic_iteration(
        &mut self,
        b: &mut f64,
        y: &[f64],
        (decay, step): (f64, f64),
        z: &mut [f64],
        with_cost: bool,
    ) -> Option<f64> {
        let First::Gram { s, c, p, k, .. } = self else {
            return None;
        };
        let rows = c.nrows();
        let (cs, ps) = (c.as_slice_mut()?, p.as_slice()?);
        let m = k.dim().1;
        if rows != 1 || cs.len() != m || ps.len() != m || y.len() != m || z.len() != m {
            return None;
        }
        kernels::matmul_into(cs, k, 1, z);
        for (zj, &pj) in z.iter_mut().zip(ps) {
            *zj = (*zj + *s * pj) + *b;
        }
        // A cost is finite exactly when every logit is (the cross-entropy of a finite logit is).
        let cost = if with_cost {
            mean_cross_entropy(&*z, y)
        } else if z.iter().all(|v| v.is_finite()) {
            0.0
        } else {
            f64::NAN
        };
        if !cost.is_finite() {
            return Some(cost);
        }
        for (zj, &yj) in z.iter_mut().zip(y) {
            *zj = sigmoid(*zj) - yj;
        }
        // ndarray's sum of a row (`sum_axis` in the general path): the same eight-way fold.
        let db = ArrayView1::from(&*z).sum();
        *s *= decay;
        for (cj, &dzj) in cs.iter_mut().zip(&*z) {
            *cj = *cj * decay + -step * dzj;
        }
        *b += -step * db;
        Some(cost)
    }

    pub(super) fn into_weights(self) -> Array2<f64> {
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
